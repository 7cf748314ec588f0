import { Injectable } from '@nestjs/common';
import { DatabaseService } from '../database/database.service.js';

/**
 * The usage-credit write of the verification engine: one atomic statement per pass. The refill (top up
 * to `refill_amount` once per elapsed `refill_interval_ms`) is computed in the same statement, and the
 * row is only updated while credits are left, so concurrent passes on any number of instances never
 * take more credits than there are (each UPDATE locks the row and re-evaluates every expression on the row it waited for).
 */
@Injectable()
export class UsageRepository {
  constructor(private readonly db: DatabaseService) {}

  /** Takes one credit; the credits left after it, or null when none was left (or the token has none). */
  async takeCredit(id: string): Promise<number | null> {
    const rows = await this.db.sql.prepared<{ remaining: number }>(
      'take_credit',
      `UPDATE api_tokens SET
         remaining = (CASE WHEN COALESCE(floor(extract(epoch FROM (now() - refilled_at)) * 1000 / refill_interval_ms), 0) > 0
           THEN GREATEST(remaining, refill_amount) ELSE remaining END) - 1,
         refilled_at = CASE WHEN COALESCE(floor(extract(epoch FROM (now() - refilled_at)) * 1000 / refill_interval_ms), 0) > 0
           THEN refilled_at + make_interval(secs => COALESCE(floor(extract(epoch FROM (now() - refilled_at)) * 1000 / refill_interval_ms), 0) * refill_interval_ms / 1000.0)
           ELSE refilled_at END
        WHERE id = $1::uuid AND remaining IS NOT NULL
          AND (CASE WHEN COALESCE(floor(extract(epoch FROM (now() - refilled_at)) * 1000 / refill_interval_ms), 0) > 0
            THEN GREATEST(remaining, refill_amount) ELSE remaining END) > 0
       RETURNING remaining`,
      [id],
    );
    return rows.length ? Number(rows[0].remaining) : null;
  }
}
