import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { PrismaClient } from '../generated/prisma/client.js';
import type { DatabaseHandle, DatabaseKind } from './connect.js';
import type { SqlRunner } from './sql-runner.js';

/** The one way into the database: Prisma for queries, `sql` for the few raw statements. */
@Injectable()
export class DatabaseService implements OnApplicationShutdown {
  private readonly logger = new Logger('Database');
  readonly prisma: PrismaClient;
  readonly sql: SqlRunner;
  readonly kind: DatabaseKind;

  constructor(readonly handle: DatabaseHandle) {
    this.prisma = handle.prisma;
    this.sql = handle.sql;
    this.kind = handle.kind;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.handle.close().catch((err: Error) => this.logger.warn(`closing the database: ${err.message}`));
  }
}
