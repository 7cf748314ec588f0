import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { DatabaseService } from '../database/database.service.js';
import { MIGRATIONS_DIR } from '../database/database.module.js';
import { readMigrations } from '../database/migrator.js';

/** A probe must answer promptly even when the database hangs (a frozen server accepts and never replies). */
const PROBE_TIMEOUT_MS = 2000;

function withTimeout<T>(work: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} did not answer within ${PROBE_TIMEOUT_MS} ms`)),
      PROBE_TIMEOUT_MS,
    );
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

@Injectable()
export class DatabaseHealthIndicator {
  private expected: Promise<string[]> | null = null;

  constructor(
    private readonly db: DatabaseService,
    private readonly indicator: HealthIndicatorService,
  ) {}

  /** The database answers `SELECT 1`. */
  async check(key: string) {
    const session = this.indicator.check(key);
    try {
      await withTimeout(this.db.sql.query('SELECT 1'), 'the database');
      return session.up({ kind: this.db.kind });
    } catch (err) {
      return session.down({ kind: this.db.kind, message: (err as Error).message.split('\n')[0] });
    }
  }

  /** Every migration shipped with this build is recorded as applied (and none failed half-way). */
  async checkMigrations(key: string) {
    const session = this.indicator.check(key);
    try {
      this.expected ??= readMigrations(MIGRATIONS_DIR).then((ms) => ms.map((m) => m.name));
      const expected = await this.expected;
      const rows = await withTimeout(
        this.db.sql.query<{ migration_name: string }>(
          'SELECT migration_name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL',
        ),
        'the database',
      );
      const applied = new Set(rows.map((r) => r.migration_name));
      const pending = expected.filter((name) => !applied.has(name));
      return pending.length ? session.down({ pending }) : session.up({ applied: expected.length });
    } catch (err) {
      return session.down({ message: (err as Error).message.split('\n')[0] });
    }
  }
}
