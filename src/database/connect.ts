import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { type DataDirLock, lockDataDir } from './data-dir-lock.js';
import { PrismaClient } from '../generated/prisma/client.js';
import { DatabaseDownError } from '../common/database-errors.js';
import { DatabaseAvailability, type AvailabilityLogger } from './database-availability.js';
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
  /** PostgreSQL only: the URL and timeouts, for dedicated connections (the token change listener). */
  config: { url: string; timeouts: PgTimeouts } | null;
  /** PostgreSQL only: whether the database answers (a circuit breaker in front of the pool). */
  availability: DatabaseAvailability | null;
  /** A runner without statement timeouts, for migrations (closed when `fn` ends). */
  withUntimedSql<T>(fn: (sql: SqlRunner) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Connect, pool-acquire and query timeouts (ms) for PostgreSQL. */
export interface PgTimeouts {
  connect: number;
  pool: number;
  query: number;
}

export const DEFAULT_PG_TIMEOUTS: PgTimeouts = { connect: 2000, pool: 3000, query: 5000 };

/**
 * pg options for one connection: bounded connect, statement_timeout on the server, and the same
 * bound on the client for a server that does not answer at all (frozen, half-open connection).
 * TCP keepalive detects dead peers on idle connections.
 */
export function pgClientOptions(url: string, t: PgTimeouts, applicationName: string): pg.ClientConfig {
  return {
    connectionString: url,
    connectionTimeoutMillis: t.connect,
    statement_timeout: t.query,
    query_timeout: t.query,
    keepAlive: true,
    keepAliveInitialDelayMillis: 5000,
    application_name: applicationName,
  };
}

/** Drops a pg client's socket at once (`end()` waits for a server that may never answer). */
export function destroyClient(client: pg.Client): void {
  const stream = (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream;
  client.removeAllListeners('end');
  client.on('error', () => undefined);
  stream?.destroy();
}

/** Connects, runs `SELECT 1` and disconnects, within the connect and query timeouts. */
async function probe(url: string, t: PgTimeouts): Promise<void> {
  const client = new pg.Client(pgClientOptions(url, t, 'keyward-probe'));
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
  } finally {
    destroyClient(client);
  }
}

type Callback = (err: Error | undefined, ...rest: unknown[]) => void;

/**
 * Puts `availability` in front of a pool: while the database is known down, `connect` (which
 * `pool.query` and the Prisma adapter go through) fails at once; every connect or query error is
 * reported to it.
 */
function guard(pool: pg.Pool, availability: DatabaseAvailability): void {
  const connect = pool.connect.bind(pool) as (cb?: Callback) => Promise<pg.PoolClient> | undefined;
  const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
  const report = (err: unknown) => availability.report(err);
  (pool as unknown as { connect: unknown }).connect = (cb?: Callback) => {
    if (!availability.available) {
      const err = new DatabaseDownError();
      if (cb) return void process.nextTick(() => cb(err));
      return Promise.reject(err);
    }
    if (cb) {
      return connect((err, ...rest) => {
        if (err) report(err);
        cb(err, ...rest);
      });
    }
    const pending = connect()!;
    pending.catch(report);
    return pending;
  };
  (pool as unknown as { query: unknown }).query = (...args: unknown[]) => {
    const result = query(...args);
    if (result instanceof Promise) result.catch(report);
    return result;
  };
}

export { DataDirLockedError } from './data-dir-lock.js';

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

const quietLogger: AvailabilityLogger = { warn: () => undefined, log: () => undefined };

/**
 * A pg pool whose connection attempts, pool waits and statements are all bounded (`timeouts`), behind
 * a circuit breaker that turns a database outage into an immediate DatabaseDownError (503).
 */
export async function connectPostgres(
  url: string,
  poolSize: number,
  timeouts: PgTimeouts = DEFAULT_PG_TIMEOUTS,
  logger: AvailabilityLogger = quietLogger,
): Promise<DatabaseHandle> {
  // One plain connection first: a wrong URL fails fast and clearly, before any pool or client exists.
  const first = new pg.Client({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  first.on('error', () => undefined);
  try {
    await first.connect();
    await first.query('SELECT 1');
  } catch (err) {
    throw describeConnectError(err, url);
  } finally {
    await first.end().catch(() => undefined);
  }
  // pg-pool uses connectionTimeoutMillis both for a new connection and for waiting for a free one: the
  // pool's is the acquire bound; each client's own (pgClientOptions) bounds the connection attempt.
  const clientOptions = pgClientOptions(url, timeouts, 'keyward');
  class TimedClient extends pg.Client {
    constructor(config?: pg.ClientConfig) {
      super({ ...config, ...clientOptions });
    }
  }
  const pool = new pg.Pool({
    ...clientOptions,
    max: poolSize,
    connectionTimeoutMillis: timeouts.pool,
    Client: TimedClient,
  });
  // An idle client's network error must not crash the process; the next query reports it.
  pool.on('error', () => undefined);
  const availability = new DatabaseAvailability(() => probe(url, timeouts), logger);
  guard(pool, availability);
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  return {
    kind: 'postgres',
    location: redactUrl(url),
    prisma,
    sql: poolRunner(pool),
    pool,
    pglite: null,
    config: { url, timeouts },
    availability,
    async withUntimedSql(fn) {
      const untimed = new pg.Pool({
        connectionString: url,
        max: 1,
        connectionTimeoutMillis: timeouts.connect,
        application_name: 'keyward-migrate',
      });
      untimed.on('error', () => undefined);
      try {
        return await fn(poolRunner(untimed));
      } finally {
        await untimed.end().catch(() => undefined);
      }
    },
    async close() {
      availability.close();
      await prisma.$disconnect();
      await pool.end();
    },
  };
}

/**
 * Opens the embedded database in `dir` (or in memory for `memory://`). A PGlite directory has no lock
 * between processes, so a lock file beside it (`<dir>.pid`: the owner's PID and start time) keeps a
 * second process out; a lock left by a process that is gone is taken over at once (see data-dir-lock.ts).
 */
export async function connectPglite(
  dir: string,
  log: (message: string) => void = () => undefined,
): Promise<DatabaseHandle> {
  let lock: DataDirLock | undefined;
  let dataDir: string | undefined;
  if (dir !== 'memory://') {
    dataDir = resolve(dir);
    mkdirSync(dataDir, { recursive: true });
    lock = lockDataDir(dataDir);
    if (lock.tookOverFrom) log(`took over the lock of ${dataDir} (${lock.tookOverFrom})`);
  }
  const db = dataDir ? new PGlite(dataDir) : new PGlite();
  try {
    await db.waitReady;
  } catch (err) {
    lock?.release();
    throw err;
  }
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(db) });
  return {
    kind: 'pglite',
    location: dataDir ?? 'memory://',
    prisma,
    sql: pgliteRunner(db),
    pool: null,
    pglite: db,
    config: null,
    availability: null,
    withUntimedSql(fn) {
      return fn(pgliteRunner(db));
    },
    async close() {
      await prisma.$disconnect();
      await db.close();
      lock?.release();
    },
  };
}
