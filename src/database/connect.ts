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

/** A database that cannot be opened at start; the message is one line naming the variable. */
export class DatabaseUnavailableError extends Error {}

/**
 * `DATABASE_URL: connection refused at 127.0.0.1:5432`, `DATABASE_URL: database "x" does not exist`,
 * `DATABASE_URL: role "y" does not exist`…: what went wrong, in one line, never with the password.
 */
export function describeConnectError(err: unknown, url: string): DatabaseUnavailableError {
  const e = err as NodeJS.ErrnoException & { errors?: NodeJS.ErrnoException[] };
  let where = '(unparseable URL)';
  try {
    const u = new URL(url);
    where = `${u.hostname || 'localhost'}:${u.port || '5432'}`;
  } catch {
    /* keep the placeholder */
  }
  const code = e?.code ?? e?.errors?.[0]?.code;
  const reasons: Record<string, string> = {
    ECONNREFUSED: `connection refused at ${where}`,
    ENOTFOUND: `host not found (${where})`,
    EAI_AGAIN: `host not found (${where})`,
    ETIMEDOUT: `connection timed out at ${where}`,
    EHOSTUNREACH: `host unreachable (${where})`,
    ECONNRESET: `connection reset by ${where}`,
  };
  let reason = code ? reasons[code] : undefined;
  // PostgreSQL's own messages (3D000 unknown database, 28000 unknown role, 28P01 bad password) already
  // name the database or role; they never carry the password.
  reason ??= (e?.message || String(err)).split('\n')[0].replace(url, redactUrl(url));
  if (/timeout/i.test(reason) && !code) reason = `connection timed out at ${where}`;
  return new DatabaseUnavailableError(`DATABASE_URL: ${reason}`);
}

/** How long the start waits for PostgreSQL to answer before giving up with a one-line error. */
const CONNECT_TIMEOUT_MS = 10_000;

export async function connectPostgres(url: string, poolSize: number): Promise<DatabaseHandle> {
  // One plain connection first: a wrong URL fails fast and clearly, before any pool or client exists.
  const probe = new pg.Client({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    await probe.query('SELECT 1');
  } catch (err) {
    throw describeConnectError(err, url);
  } finally {
    await probe.end().catch(() => undefined);
  }
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  // An idle client's network error must not crash the process; the next query reports it.
  pool.on('error', () => undefined);
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
