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

  async onApplicationShutdown(): Promise<void> {
    await this.handle.close().catch((err: Error) => this.logger.warn(`closing the database: ${err.message}`));
  }
}
