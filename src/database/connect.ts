import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { type DataDirLock, lockDataDir } from './data-dir-lock.js';
import { PrismaClient } from '../generated/prisma/client.js';
import { DatabaseDownError } from '../common/errors/database-errors.js';
import { DatabaseAvailability, type AvailabilityLogger } from './database-availability.js';
import type { SqlRunner } from './sql-runner.js';

export type DatabaseKind = 'postgres' | 'pglite';

export interface DatabaseHandle {
  kind: DatabaseKind;
  /** Where the data lives, for logs: a redacted URL or a directory. */
  location: string;
  prisma: PrismaClient;
  sql: SqlRunner;
  /** PostgreSQL only: the pool every request's statements go through (null on PGlite, which is one process). */
  pool: pg.Pool | null;
  /**
   * PostgreSQL only: a small pool of direct connections for what needs a session of its own (session
   * advisory locks). The request pool itself unless DATABASE_DIRECT_URL is set.
   */
  sessionPool: pg.Pool | null;
  /**
   * PostgreSQL only: read-only pools on the replicas of DATABASE_REPLICA_URLS (empty without replicas).
   */
  replicas: pg.Pool[];
  /** `pooler`: DATABASE_URL goes through a transaction pooler (no named statements, no session state). */
  mode: 'direct' | 'pooler' | 'embedded';
  pglite: PGlite | null;
  /**
   * PostgreSQL only: the URL and timeouts for dedicated connections (the token change listener): the
   * direct URL when DATABASE_DIRECT_URL is set.
   */
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

const DEFAULT_PG_TIMEOUTS: PgTimeouts = { connect: 2000, pool: 3000, query: 5000 };

/**
 * pg options for one connection: bounded connect, statement_timeout on the server, and the same
 * bound on the client for a server that does not answer at all (frozen, half-open connection).
 * TCP keepalive detects dead peers on idle connections.
 */
export function pgClientOptions(
  url: string,
  t: PgTimeouts,
  applicationName: string,
  serverTimeout = true,
): pg.ClientConfig {
  return {
    connectionString: url,
    connectionTimeoutMillis: t.connect,
    // A transaction pooler (PgBouncer) refuses `statement_timeout` as a startup parameter: through one,
    // the bound is the client's query_timeout (and the role's own setting, see docs/operations/scaling.md).
    ...(serverTimeout ? { statement_timeout: t.query } : {}),
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
async function probe(url: string, t: PgTimeouts, serverTimeout = true): Promise<void> {
  const client = new pg.Client(pgClientOptions(url, t, 'keyward-probe', serverTimeout));
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

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgresql://(unparseable)';
  }
}

/**
 * `namedStatements`: false through a transaction pooler, where a statement prepared on one server
 * connection is unknown (or already known: 42P05) on the next one the pooler hands out.
 */
function poolRunner(pool: pg.Pool, namedStatements = true, localTimeout?: number): SqlRunner {
  return {
    async exec(sql) {
      await pool.query(sql);
    },
    async query(sql, params) {
      return (await pool.query(sql, params as unknown[])).rows;
    },
    async prepared(name, text, values) {
      return (await pool.query(namedStatements ? { name, text, values } : { text, values })).rows;
    },
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        // Through a pooler the server-side bound is set per transaction (a pooler accepts SET LOCAL).
        if (localTimeout) await client.query(`SET LOCAL statement_timeout = ${Math.floor(localTimeout)}`);
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
function describeConnectError(err: unknown, url: string, variable = 'DATABASE_URL'): DatabaseUnavailableError {
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
  return new DatabaseUnavailableError(`${variable}: ${reason}`);
}

/**
 * Whether `url` goes through a connection pooler rather than straight to PostgreSQL. A PgBouncer
 * refuses the `statement_timeout` startup parameter ("unsupported startup parameter"), or, when told
 * to ignore it (`ignore_startup_parameters`), drops it: PostgreSQL itself applies it, so a server that
 * reports another value than the one asked for is not the one we connected to.
 */
async function detectPooler(url: string): Promise<boolean> {
  const asked = 1_234_567;
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    statement_timeout: asked,
    application_name: 'keyward-probe',
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const rows = await client.query<{ setting: string }>("SELECT current_setting('statement_timeout') AS setting");
    const setting = rows.rows[0]?.setting ?? '';
    return setting !== `${asked}ms` && setting !== `${asked / 1000}s` && setting !== String(asked);
  } catch (err) {
    if (/unsupported startup parameter/i.test((err as Error)?.message ?? '')) return true;
    throw err;
  } finally {
    destroyClient(client);
  }
}

/** How long the start waits for PostgreSQL to answer before giving up with a one-line error. */
const CONNECT_TIMEOUT_MS = 10_000;

const quietLogger: AvailabilityLogger = { warn: () => undefined, log: () => undefined };

/** Where the service reaches PostgreSQL, besides DATABASE_URL (all optional). */
export interface PostgresTopology {
  /** DATABASE_DIRECT_URL: a direct connection for LISTEN/NOTIFY and advisory locks. */
  directUrl?: string;
  /** DATABASE_REPLICA_URLS: streaming replicas for cache misses and lists. */
  replicaUrls?: string[];
}

/** A setup that cannot work (a pooler without a direct URL…): one line naming the variables. */
class DatabaseTopologyError extends DatabaseUnavailableError {}

/** One plain connection and `SELECT 1`: a wrong URL fails fast and clearly, before any pool exists. */
async function checkReachable(url: string, variable: string): Promise<void> {
  const first = new pg.Client({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  first.on('error', () => undefined);
  try {
    await first.connect();
    await first.query('SELECT 1');
  } catch (err) {
    throw describeConnectError(err, url, variable);
  } finally {
    await first.end().catch(() => undefined);
  }
}

/**
 * Checks the topology before any pool exists, and says in one line what cannot work: DATABASE_URL
 * through a pooler without DATABASE_DIRECT_URL (LISTEN and session advisory locks do not survive a
 * transaction pooler), a DATABASE_DIRECT_URL that is itself a pooler, a replica that is not in recovery.
 */
async function checkTopology(url: string, topology: PostgresTopology): Promise<{ pooled: boolean }> {
  await checkReachable(url, 'DATABASE_URL');
  const pooled = await detectPooler(url);
  if (topology.directUrl) {
    await checkReachable(topology.directUrl, 'DATABASE_DIRECT_URL');
    if (await detectPooler(topology.directUrl)) {
      throw new DatabaseTopologyError(
        'DATABASE_DIRECT_URL: goes through a connection pooler too; it must reach PostgreSQL directly ' +
          '(LISTEN/NOTIFY and advisory locks need a session of their own)',
      );
    }
  } else if (pooled) {
    throw new DatabaseTopologyError(
      'DATABASE_URL: goes through a connection pooler (it refused or ignored the statement_timeout ' +
        'startup parameter); set DATABASE_DIRECT_URL to a direct PostgreSQL URL for LISTEN/NOTIFY and advisory locks',
    );
  }
  for (const [i, replica] of (topology.replicaUrls ?? []).entries()) {
    const variable = `DATABASE_REPLICA_URLS[${i}]`;
    await checkReachable(replica, variable);
    const client = new pg.Client({ connectionString: replica, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
    client.on('error', () => undefined);
    try {
      await client.connect();
      const { rows } = await client.query<{ standby: boolean }>('SELECT pg_is_in_recovery() AS standby');
      if (!rows[0]?.standby) {
        throw new DatabaseTopologyError(
          `${variable}: ${redactUrl(replica)} is not a streaming replica (pg_is_in_recovery() is false)`,
        );
      }
    } finally {
      destroyClient(client);
    }
  }
  return { pooled };
}

/** A bounded pg pool (connect, acquire, statement), whose idle clients' errors never crash the process. */
function boundedPool(url: string, size: number, timeouts: PgTimeouts, name: string, serverTimeout: boolean): pg.Pool {
  // pg-pool uses connectionTimeoutMillis both for a new connection and for waiting for a free one: the
  // pool's is the acquire bound; each client's own (pgClientOptions) bounds the connection attempt.
  const clientOptions = pgClientOptions(url, timeouts, name, serverTimeout);
  class TimedClient extends pg.Client {
    constructor(config?: pg.ClientConfig) {
      super({ ...config, ...clientOptions });
    }
  }
  const pool = new pg.Pool({
    ...clientOptions,
    max: size,
    connectionTimeoutMillis: timeouts.pool,
    Client: TimedClient,
  });
  // An idle client's network error must not crash the process; the next query reports it.
  pool.on('error', () => undefined);
  return pool;
}

/**
 * A pg pool whose connection attempts, pool waits and statements are all bounded (`timeouts`), behind
 * a circuit breaker that turns a database outage into an immediate DatabaseDownError (503). With
 * `topology.directUrl` (DATABASE_URL is a transaction pooler), LISTEN and advisory locks use direct
 * connections, statements are unnamed and the statement timeout is the client's.
 */
export async function connectPostgres(
  url: string,
  poolSize: number,
  timeouts: PgTimeouts = DEFAULT_PG_TIMEOUTS,
  logger: AvailabilityLogger = quietLogger,
  topology: PostgresTopology = {},
): Promise<DatabaseHandle> {
  const { pooled } = await checkTopology(url, topology);
  const directUrl = topology.directUrl ?? url;
  const pool = boundedPool(url, poolSize, timeouts, 'keyward', !pooled);
  const availability = new DatabaseAvailability(() => probe(url, timeouts, !pooled), logger);
  guard(pool, availability);
  const sessionPool = topology.directUrl ? boundedPool(directUrl, 2, timeouts, 'keyward-session', true) : pool;
  const replicas = (topology.replicaUrls ?? []).map((r) =>
    boundedPool(r, Math.max(2, Math.ceil(poolSize / 2)), timeouts, 'keyward-replica', true),
  );
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  return {
    kind: 'postgres',
    mode: pooled ? 'pooler' : 'direct',
    location: redactUrl(url),
    prisma,
    sql: poolRunner(pool, !pooled, pooled ? timeouts.query : undefined),
    pool,
    sessionPool,
    replicas,
    pglite: null,
    config: { url: directUrl, timeouts },
    availability,
    async withUntimedSql(fn) {
      const untimed = new pg.Pool({
        connectionString: directUrl,
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
      if (sessionPool !== pool) await sessionPool.end().catch(() => undefined);
      await Promise.all(replicas.map((r) => r.end().catch(() => undefined)));
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
    sessionPool: null,
    replicas: [],
    mode: 'embedded',
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
