import { Injectable } from '@nestjs/common';
import { DatabaseService } from '../database/database.service.js';

/**
 * Key of the session-level PostgreSQL advisory lock that makes one instance at a time run a cleanup
 * pass (advisory locks are per database, so instances on other databases do not contend).
 * ASCII "kwcl" as a 32-bit integer; distinct from the migrator's key. Also read by bench/ (from dist/,
 * which knip does not follow).
 * @public
 */
export const CLEANUP_LOCK_KEY = 0x6b77636c;

export interface RemovedCounts {
  expired: number;
  used: number;
  revoked: number;
}

type Query = <T>(sql: string, params?: unknown[]) => Promise<T[]>;

/**
 * One batch: picks at most `$1` removable rows (rows another transaction holds are skipped, not
 * waited for), deletes them and counts them by reason, in one set-based statement that is its own
 * short transaction. A revoked token is kept for the audit retention whatever its expiry; other rows
 * go when expired, or when single-use and used.
 */
const DELETE_BATCH = `
WITH doomed AS (
  SELECT id,
         CASE WHEN revoked_at IS NOT NULL THEN 'revoked'
              WHEN expires_at <= now() THEN 'expired'
              ELSE 'used' END AS reason
    FROM api_tokens
   WHERE (revoked_at IS NULL AND (expires_at <= now() OR (remove_on_use AND used_at IS NOT NULL)))
      OR revoked_at <= now() - ($2::bigint * interval '1 millisecond')
   LIMIT $1
   FOR UPDATE SKIP LOCKED
), gone AS (
  DELETE FROM api_tokens t USING doomed d WHERE t.id = d.id RETURNING d.reason
)
SELECT reason, count(*)::int AS n FROM gone GROUP BY reason`;

/** Rotation leftovers: a previous secret whose grace period ended is dropped (auth ignores it already). */
const CLEAR_GRACE_BATCH = `
WITH stale AS (
  SELECT id FROM api_tokens
   WHERE previous_expires_at <= now()
   LIMIT $1
   FOR UPDATE SKIP LOCKED
), cleared AS (
  UPDATE api_tokens t SET previous_secret_hash = NULL, previous_expires_at = NULL
    FROM stale s WHERE t.id = s.id RETURNING t.id
)
SELECT count(*)::int AS n FROM cleared`;

/** Audit events past KEYWARD_AUDIT_RETENTION (an aggregate counts from its last attempt). */
const DELETE_AUDIT_BATCH = `
WITH doomed AS (
  SELECT id FROM audit_events
   WHERE COALESCE(last_seen_at, created_at) <= now() - ($2::bigint * interval '1 millisecond')
   LIMIT $1
   FOR UPDATE SKIP LOCKED
), gone AS (
  DELETE FROM audit_events a USING doomed d WHERE a.id = d.id RETURNING a.id
)
SELECT count(*)::int AS n FROM gone`;

/**
 * Rate-limit windows (per-token rate limits, failed-login counters) that ended: a key used again starts a
 * new window by itself, so these rows only take space (an attacker's addresses leave one each).
 */
const DELETE_WINDOWS_BATCH = `
WITH doomed AS (
  SELECT key FROM ratelimits
   WHERE expire <= (extract(epoch FROM clock_timestamp()) * 1000)::bigint
   LIMIT $1
   FOR UPDATE SKIP LOCKED
), gone AS (
  DELETE FROM ratelimits r USING doomed d WHERE r.key = d.key RETURNING r.key
)
SELECT count(*)::int AS n FROM gone`;

/**
 * Claims the cluster's pass: moves `last_run_at` to now when the last pass (by any instance) started at
 * least `$1` ms ago. No row back: another instance ran it recently.
 */
const CLAIM_PASS = `
UPDATE cluster_jobs SET last_run_at = now()
 WHERE name = 'cleanup' AND last_run_at <= now() - ($1::bigint * interval '1 millisecond')
RETURNING name`;

/** The statements of a pass, all on the one connection that holds the advisory lock. */
export class CleanupSession {
  constructor(private readonly query: Query) {}

  /**
   * True when this pass is the cluster's for the interval (`minGapMs` since the last one, by any
   * instance); a forced pass (`minGapMs` 0) always claims it.
   */
  async claim(minGapMs: number): Promise<boolean> {
    const rows = await this.query(CLAIM_PASS, [Math.floor(minGapMs)]);
    return rows.length > 0;
  }

  async deleteBatch(batchSize: number, revokedRetentionMs: number): Promise<RemovedCounts> {
    const rows = await this.query<{ reason: keyof RemovedCounts; n: number }>(DELETE_BATCH, [
      batchSize,
      Math.floor(revokedRetentionMs),
    ]);
    const counts: RemovedCounts = { expired: 0, used: 0, revoked: 0 };
    for (const r of rows) counts[r.reason] = Number(r.n);
    return counts;
  }

  async deleteAuditBatch(batchSize: number, retentionMs: number): Promise<number> {
    const [row] = await this.query<{ n: number }>(DELETE_AUDIT_BATCH, [batchSize, Math.floor(retentionMs)]);
    return Number(row?.n ?? 0);
  }

  async deleteEndedWindowsBatch(batchSize: number): Promise<number> {
    const [row] = await this.query<{ n: number }>(DELETE_WINDOWS_BATCH, [batchSize]);
    return Number(row?.n ?? 0);
  }

  async clearExpiredGraceBatch(batchSize: number): Promise<number> {
    const [row] = await this.query<{ n: number }>(CLEAR_GRACE_BATCH, [batchSize]);
    return Number(row?.n ?? 0);
  }
}

/** The cleanup job's raw SQL: the advisory lock and the batched, set-based deletes. */
@Injectable()
export class CleanupRepository {
  constructor(private readonly db: DatabaseService) {}

  /**
   * Runs `fn` while holding the cleanup advisory lock on one pinned connection (a session-level lock
   * lives on its connection, and the pool would hand each statement to any connection). Returns
   * `{ acquired: false }` at once, without waiting, when another session holds the lock.
   */
  async withLock<R>(
    fn: (session: CleanupSession) => Promise<R>,
  ): Promise<{ acquired: true; result: R } | { acquired: false }> {
    // A direct connection: a session lock taken through a transaction pooler stays on whichever server
    // connection ran it (DATABASE_DIRECT_URL).
    const { sessionPool: pool, pglite } = this.db.handle;
    if (pool) {
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        const query: Query = async (sql, params) => (await client.query(sql, params)).rows;
        // Never hand a connection that may still hold the lock back to the pool.
        return await underLock(query, fn, (err) => void (broken = err));
      } finally {
        client.release(broken);
      }
    }
    if (!pglite) throw new Error('no database connection');
    // PGlite is one process with one session: the same SQL works (and the lock is only re-entrant
    // within that session, which CleanupService's in-process guard covers).
    const query: Query = async <T>(sql: string, params?: unknown[]) => (await pglite.query<T>(sql, params)).rows;
    return underLock(query, fn, (err) => {
      throw err;
    });
  }
}

/** Takes the cleanup advisory lock on one session, runs `fn`, releases it (`unlockFailed` on error). */
async function underLock<R>(
  query: Query,
  fn: (session: CleanupSession) => Promise<R>,
  unlockFailed: (err: Error) => void,
): Promise<{ acquired: true; result: R } | { acquired: false }> {
  const [{ locked }] = await query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [
    CLEANUP_LOCK_KEY,
  ]);
  if (!locked) return { acquired: false };
  try {
    return { acquired: true, result: await fn(new CleanupSession(query)) };
  } finally {
    await query('SELECT pg_advisory_unlock($1)', [CLEANUP_LOCK_KEY]).catch(unlockFailed);
  }
}
