import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { type RateLimiterAbstract, RateLimiterPostgres } from 'rate-limiter-flexible';
import type { PrismaClient } from '../generated/prisma/client.js';
import type { DatabaseHandle, DatabaseKind } from './connect.js';
import { ReplicaReads } from './replica-reads.js';
import type { SqlRunner } from './sql-runner.js';

/** The one way into the database: Prisma for queries, `sql` for the few raw statements. */
@Injectable()
export class DatabaseService implements OnApplicationShutdown {
  private readonly logger = new Logger('Database');
  readonly prisma: PrismaClient;
  readonly sql: SqlRunner;
  readonly kind: DatabaseKind;
  /** Reads that may go to a replica (DATABASE_REPLICA_URLS) without undoing a change (see ReplicaReads). */
  readonly replicaReads: ReplicaReads;

  constructor(readonly handle: DatabaseHandle) {
    this.prisma = handle.prisma;
    this.sql = handle.sql;
    this.kind = handle.kind;
    this.replicaReads = new ReplicaReads(handle.replicas, async () => {
      const [row] = await handle.sql.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
      return row!.lsn;
    });
  }

  /**
   * A rate-limiter-flexible window shared by every instance on this database (the `ratelimits` table,
   * made by the migrations), that blocks a key in this instance's memory once its `points` are used up
   * (no more writes until the window ends); null on the embedded database (one process). Through a
   * transaction pooler its statements are sent unnamed: a statement prepared on one server connection
   * is unknown (or already known) on the next one the pooler hands out.
   */
  sharedLimiter(options: {
    keyPrefix: string;
    points: number;
    /** Seconds. */
    duration: number;
    insuranceLimiter?: RateLimiterAbstract;
  }): RateLimiterPostgres | null {
    const pool = this.handle.pool;
    if (!pool) return null;
    const store =
      this.handle.mode === 'pooler'
        ? { query: (q: { text: string; values?: unknown[] }) => pool.query({ text: q.text, values: q.values }) }
        : pool;
    return new RateLimiterPostgres({
      ...options,
      storeClient: store,
      storeType: 'pool',
      tableName: 'ratelimits',
      tableCreated: true,
      clearExpiredByTimeout: false,
      inMemoryBlockOnConsumed: options.points,
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.handle.close().catch((err: Error) => this.logger.warn(`closing the database: ${err.message}`));
  }
}
