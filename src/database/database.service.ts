import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
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
   * The store the PostgreSQL rate limiters (rate-limiter-flexible) query; null on the embedded database.
   * Through a transaction pooler their named statements are sent unnamed: a statement prepared on one
   * server connection is unknown (or already known) on the next one the pooler hands out.
   */
  get limiterStore(): { query(q: { text: string; values?: unknown[] }): Promise<unknown> } | null {
    const pool = this.handle.pool;
    if (!pool || this.handle.mode !== 'pooler') return pool;
    return { query: (q) => pool.query({ text: q.text, values: q.values }) };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.handle.close().catch((err: Error) => this.logger.warn(`closing the database: ${err.message}`));
  }
}
