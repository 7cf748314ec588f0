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
  readonly counts = new Map<string, { via: EntryPoint; code: string; count: number }>();

  record(via: EntryPoint, code: string): void {
    const key = `${via}:${code}`;
    const entry = this.counts.get(key);
    if (entry) entry.count++;
    else this.counts.set(key, { via, code, count: 1 });
  }
}
