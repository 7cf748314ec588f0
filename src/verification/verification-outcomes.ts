import { Injectable } from '@nestjs/common';

/** Where a token was checked: by the global guard (any protected route) or by the verification API. */
export type VerificationVia = 'auth' | 'verify_api';

/**
 * Counts verification verdicts by where they were reached and their code (`VALID`, `NOT_FOUND`,
 * `EXPIRED`, `REVOKED`, `DISABLED`, `USED`, `FORBIDDEN`, and `MISSING` for a request with no
 * credential). The metrics module reads `counts`; nothing here knows about Prometheus.
 */
@Injectable()
export class VerificationOutcomes {
  readonly counts = new Map<string, { via: VerificationVia; code: string; count: number }>();

  record(via: VerificationVia, code: string): void {
    const key = `${via}:${code}`;
    const entry = this.counts.get(key);
    if (entry) entry.count++;
    else this.counts.set(key, { via, code, count: 1 });
  }
}
