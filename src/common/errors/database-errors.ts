/**
 * "The database cannot answer right now" as opposed to "the query was wrong": refused or dropped
 * connections, connect/pool/query timeouts, a server shutting down or refusing connections. Such errors
 * become `503 service_unavailable` with `Retry-After`, never a 500, and are not logged one by one.
 */

/** Thrown without touching the network while the database is known to be unreachable. */
export class DatabaseDownError extends Error {
  override readonly name = 'DatabaseDownError';
  constructor(message = 'The database is unreachable') {
    super(message);
  }
}

/** Seconds a client is asked to wait (`Retry-After`) when the database is unavailable. */
export const DATABASE_RETRY_AFTER_SECONDS = 2;

const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'EAI_AGAIN',
]);

/**
 * SQLSTATEs: class 08 (connection exception), admin/crash shutdown, cannot connect now, too many
 * connections, and statement_timeout's query_canceled.
 */
function isUnavailableSqlState(code: string): boolean {
  return code.startsWith('08') || ['57P01', '57P02', '57P03', '53300', '57014'].includes(code);
}

/** Prisma's codes for the same situations (P1xxx connection errors, pool timeout, too many connections). */
const PRISMA_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024', 'P2037']);

/** Driver adapter error kinds (Prisma 7 `DriverAdapterError.cause.kind`). */
const ADAPTER_KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections']);

/** Messages pg and pg-pool use for their own timeouts and dead connections. */
const PG_MESSAGES = [
  'timeout exceeded when trying to connect',
  'connection terminated',
  'connection timeout',
  'query read timeout',
  'is not queryable',
  'timeout expired',
  'client was closed and is not queryable',
  'cannot use a pool after calling end',
  'terminating connection',
  'the database system is shutting down',
  'the database system is starting up',
  'server closed the connection',
];

function unavailable(e: unknown, depth: number): boolean {
  if (!e || typeof e !== 'object' || depth > 5) return false;
  const err = e as {
    name?: unknown;
    code?: unknown;
    kind?: unknown;
    originalCode?: unknown;
    message?: unknown;
    cause?: unknown;
    meta?: { driverAdapterError?: unknown };
  };
  if (err.name === 'DatabaseDownError' || err.name === 'PrismaClientInitializationError') return true;
  if (typeof err.code === 'string') {
    if (SOCKET_CODES.has(err.code) || PRISMA_CODES.has(err.code)) return true;
    if (/^[0-9A-Z]{5}$/.test(err.code) && isUnavailableSqlState(err.code)) return true;
  }
  if (typeof err.kind === 'string' && ADAPTER_KINDS.has(err.kind)) return true;
  if (typeof err.originalCode === 'string' && isUnavailableSqlState(err.originalCode)) return true;
  if (typeof err.message === 'string') {
    const m = err.message.toLowerCase();
    if (PG_MESSAGES.some((p) => m.includes(p))) return true;
  }
  return unavailable(err.cause, depth + 1) || unavailable(err.meta?.driverAdapterError, depth + 1);
}

/** True when `e` (or what it wraps) says the database is unreachable, overloaded or too slow. */
export function isDatabaseUnavailable(e: unknown): boolean {
  return unavailable(e, 0);
}
