import { Injectable } from '@nestjs/common';
import { DatabaseService } from '../database/database.service.js';

/** Whole refill intervals elapsed since `refilled_at` (0 without a refill). */
const ELAPSED = `COALESCE(floor(extract(epoch FROM (now() - t.refilled_at)) * 1000 / t.refill_interval_ms), 0)`;
/** The credits a token has now: topped up to `refill_amount` when an interval has elapsed. */
const AVAILABLE = `(CASE WHEN ${ELAPSED} > 0 THEN GREATEST(t.remaining, t.refill_amount) ELSE t.remaining END)`;
/** Takes `r.n` credits (refilling first). Every expression reads the row itself, never a snapshot of it. */
const TAKE = `remaining = ${AVAILABLE} - r.n,
  refilled_at = CASE WHEN ${ELAPSED} > 0
    THEN t.refilled_at + make_interval(secs => ${ELAPSED} * t.refill_interval_ms / 1000.0) ELSE t.refilled_at END`;
const CAN_TAKE = `t.remaining IS NOT NULL AND ${AVAILABLE} >= r.n`;

/**
 * The usage-credit write of the verification engine: one atomic statement per pass. The refill (top up
 * to `refill_amount` once per elapsed `refill_interval_ms`) is computed in the same statement, and the
 * row is only updated while credits are left, so concurrent passes on any number of instances never
 * take more credits than there are (each UPDATE locks the row and re-evaluates every expression on the row it waited
 * for). Concurrent passes of one instance are taken in batches (`takeCredits`: one statement, one commit).
 */
@Injectable()
export class UsageRepository {
  constructor(private readonly db: DatabaseService) {}

  /** Takes one credit; the credits left after it, or null when none was left (or the token has none). */
  async takeCredit(id: string): Promise<number | null> {
    const rows = await this.db.sql.prepared<{ remaining: number }>(
      'take_credit',
      `UPDATE api_tokens t SET ${TAKE} FROM (SELECT 1 AS n) r WHERE t.id = $1::uuid AND ${CAN_TAKE} RETURNING t.remaining`,
      [id],
    );
    return rows.length ? Number(rows[0].remaining) : null;
  }

  /**
   * Takes `wanted[i]` credits from token `ids[i]` (ids unique) in one statement, all or none per token:
   * a token with fewer credits than asked gives none here (its passes are then taken one by one). Returns
   * the credits left of the tokens that gave them.
   */
  async takeCredits(ids: readonly string[], wanted: readonly number[]): Promise<Map<string, number>> {
    const rows = await this.db.sql.prepared<{ id: string; remaining: number }>(
      'take_credits',
      `UPDATE api_tokens t SET ${TAKE} FROM unnest($1::uuid[], $2::int[]) AS r(id, n)
        WHERE t.id = r.id AND ${CAN_TAKE} RETURNING t.id::text AS id, t.remaining`,
      [ids, wanted],
    );
    return new Map(rows.map((r) => [r.id, Number(r.remaining)]));
  }
}
