import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import lockfile from 'proper-lockfile';
import { PrismaClient } from '../generated/prisma/client.js';
import type { SqlRunner } from './sql-runner.js';

export type DatabaseKind = 'postgres' | 'pglite';

export interface DatabaseHandle {
  kind: DatabaseKind;
  /** Where the data lives, for logs: a redacted URL or a directory. */
  location: string;
  prisma: PrismaClient;
  sql: SqlRunner;
  /** PostgreSQL only: a dedicated client for LISTEN (null on PGlite, which is one process). */
  pool: pg.Pool | null;
  pglite: PGlite | null;
  close(): Promise<void>;
}

export class DataDirLockedError extends Error {}

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgresql://(unparseable)';
  }
}

function poolRunner(pool: pg.Pool): SqlRunner {
  return {
    async exec(sql) {
      await pool.query(sql);
    },
    async query(sql, params) {
      return (await pool.query(sql, params as unknown[])).rows;
    },
    async prepared(name, text, values) {
      return (await pool.query({ name, text, values })).rows;
    },
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn({
          exec: async (sql) => void (await client.query(sql)),
          query: async (sql, params) => (await client.query(sql, params as unknown[])).rows,
        });
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
  };
}

function pgliteRunner(db: PGlite): SqlRunner {
  return {
    async exec(sql) {
      await db.exec(sql);
    },
    async query(sql, params) {
      return (await db.query(sql, params as unknown[])).rows as never[];
    },
    async prepared(_name, sql, params) {
      return (await db.query(sql, params)).rows as never[];
    },
    transaction(fn) {
      return db.transaction((tx) =>
        fn({
          exec: async (sql) => void (await tx.exec(sql)),
          query: async (sql, params) => (await tx.query(sql, params as unknown[])).rows as never[],
        }),
      );
    },
  };
}

export async function connectPostgres(url: string, poolSize: number): Promise<DatabaseHandle> {
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  // An idle client's network error must not crash the process; the next query reports it.
  pool.on('error', () => undefined);
  await pool.query('SELECT 1');
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  return {
    kind: 'postgres',
    location: redactUrl(url),
    prisma,
    sql: poolRunner(pool),
    pool,
    pglite: null,
    async close() {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}

/**
 * Opens the embedded database in `dir` (or in memory for `memory://`). A PGlite directory has no lock
 * between processes, so a lock file beside it (`<dir>.lock`, refreshed while we run and considered
 * stale after 15 s if the holder died) keeps a second process out.
 */
export async function connectPglite(dir: string): Promise<DatabaseHandle> {
  let release: (() => Promise<void>) | undefined;
  let dataDir: string | undefined;
  if (dir !== 'memory://') {
    dataDir = resolve(dir);
    mkdirSync(dataDir, { recursive: true });
    try {
      release = await lockfile.lock(dataDir, { stale: 15_000, update: 5_000, retries: 0, realpath: false });
    } catch (err) {
      if ((err as { code?: string }).code === 'ELOCKED') {
        throw new DataDirLockedError(
          `The embedded database directory ${dataDir} is in use by another Keyward process. ` +
            'Only one process may open it: stop the running service first, or point KEYWARD_DATA_DIR elsewhere.',
        );
      }
      throw err;
    }
  }
  const db = dataDir ? new PGlite(dataDir) : new PGlite();
  await db.waitReady;
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(db) });
  return {
    kind: 'pglite',
    location: dataDir ?? 'memory://',
    prisma,
    sql: pgliteRunner(db),
    pool: null,
    pglite: db,
    async close() {
      await prisma.$disconnect();
      await db.close();
      await release?.();
    },
  };
}
