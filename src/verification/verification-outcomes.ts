import { Injectable } from '@nestjs/common';

/**
 * Where a credential was checked: by the global guard (any protected route), by the verification API,
 * by forward auth (`/v1/auth/check`), by the CLI, by token introspection (`/oauth2/introspect`) or by
 * leaked-token reports (`/v1/tokens/revoke-leaked`).
 */
export type EntryPoint = 'auth' | 'verify_api' | 'forward_auth' | 'cli' | 'introspection' | 'leak_report';

/**
 * Counts verification verdicts by where they were reached and their code (`VALID`, `NOT_FOUND`,
 * `EXPIRED`, `REVOKED`, `DISABLED`, `USED`, `FORBIDDEN`, and `MISSING` for a request with no
 * credential). The metrics module reads `counts`; nothing here knows about Prometheus.
 */
@Injectable()
export class VerificationOutcomes {
  /** By entry point, then by code (two lookups: no key string built per verdict). */
  private readonly byEntryPoint = new Map<EntryPoint, Map<string, { via: EntryPoint; code: string; count: number }>>();

  record(via: EntryPoint, code: string): void {
    let byCode = this.byEntryPoint.get(via);
    if (!byCode) this.byEntryPoint.set(via, (byCode = new Map()));
    const entry = byCode.get(code);
    if (entry) entry.count++;
    else byCode.set(code, { via, code, count: 1 });
  }

  /** Every (entry point, code) seen, with its count. */
  counts(): Array<{ via: EntryPoint; code: string; count: number }> {
    return [...this.byEntryPoint.values()].flatMap((byCode) => [...byCode.values()]);
  }
}
