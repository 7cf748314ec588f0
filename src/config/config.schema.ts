import { z } from 'zod';
import { parseDuration } from '../common/time.js';

/** A duration written as `30s`, `15m`, `1h`, `7d`, or plain milliseconds (common/time.ts). */
const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((value, ctx) => {
      const parsed = parseDuration(value);
      if (parsed === null) {
        ctx.addIssue({ code: 'custom', message: `not a duration: "${value}" (use e.g. 30s, 5m, 1h)` });
        return z.NEVER;
      }
      return parsed;
    });

/** Like `duration`, but `0`, `off`, `false` or `disabled` mean "switched off" (0); otherwise at least `min` ms. */
const optionalDuration = (fallback: string, min: number) =>
  z.preprocess(
    (v) => (typeof v === 'string' && ['off', 'false', 'disabled', 'no'].includes(v.trim().toLowerCase()) ? '0' : v),
    duration(fallback).refine((ms) => ms === 0 || ms >= min, {
      message: `must be 0/off (disabled) or at least ${min} ms`,
    }),
  );

const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');

const int = (fallback: number, min: number, max: number) => z.coerce.number().int().min(min).max(max).default(fallback);

/**
 * Every environment variable Keyward reads, validated once at boot. The README's configuration table
 * lists the same variables; `.env.example` shows them with their defaults.
 */
export const configSchema = z.object({
  PORT: int(8080, 0, 65535),
  HOST: z.string().min(1).default('0.0.0.0'),
  DATABASE_URL: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
      .optional(),
  ),
  /**
   * A direct PostgreSQL URL for LISTEN/NOTIFY and advisory locks, when DATABASE_URL goes through a
   * transaction pooler (PgBouncer); unset, DATABASE_URL serves both.
   */
  DATABASE_DIRECT_URL: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
      .optional(),
  ),
  /** Streaming replicas (comma-separated URLs) that serve cache misses and lists; writes stay on DATABASE_URL. */
  DATABASE_REPLICA_URLS: z.preprocess(
    (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
    z
      .string()
      .optional()
      .transform((value, ctx) => {
        if (value === undefined) return [];
        const urls = value
          .split(',')
          .map((u) => u.trim())
          .filter(Boolean);
        for (const url of urls) {
          if (!/^postgres(ql)?:\/\//.test(url)) {
            ctx.addIssue({ code: 'custom', message: 'every entry must be a postgres:// or postgresql:// URL' });
            return z.NEVER;
          }
        }
        return urls;
      }),
  ),
  DATABASE_POOL_SIZE: int(10, 1, 200),
  /** Longest wait for a new PostgreSQL connection (TCP + startup). */
  DATABASE_CONNECT_TIMEOUT: duration('2s').refine((v) => v >= 100, 'must be at least 100ms'),
  /** Longest wait for a pooled connection (a free one or a new one) before the request gets 503. */
  DATABASE_POOL_TIMEOUT: duration('3s').refine((v) => v >= 100, 'must be at least 100ms'),
  /** Longest a single statement may take (client-side read timeout and server-side statement_timeout). */
  DATABASE_QUERY_TIMEOUT: duration('5s').refine((v) => v >= 100, 'must be at least 100ms'),
  KEYWARD_DATA_DIR: z.string().min(1).default('./data'),
  KEYWARD_ADMIN_TOKEN: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z.string().min(20, 'must be at least 20 characters').max(512).optional(),
  ),
  /** Operator-managed tokens file (named tokens, API keys or a master token); also `--tokens FILE` on the command line. */
  KEYWARD_TOKENS_FILE: z.preprocess((v) => (v === '' ? undefined : v), z.string().optional()),
  KEYWARD_TOKEN_PREFIX: z
    .string()
    .regex(/^[a-z][a-z0-9_]{0,15}_$/, 'must be lowercase letters, digits or "_", ending in "_" (e.g. kw_, sk_live_)')
    .default('kw_'),
  KEYWARD_ARGON2_MEMORY_KIB: int(19456, 19456, 4 * 1024 * 1024),
  KEYWARD_ARGON2_TIME_COST: int(2, 2, 100),
  KEYWARD_ARGON2_PARALLELISM: int(1, 1, 16),
  /** argon2 computations running at once; more wait in a queue. */
  KEYWARD_ARGON2_CONCURRENCY: int(4, 1, 64),
  /** argon2 computations allowed to wait; past that a request gets 503 with Retry-After. */
  KEYWARD_ARGON2_QUEUE: int(64, 0, 100_000),
  /** Failed authentications allowed per client address per KEYWARD_THROTTLE_WINDOW, then 429. */
  KEYWARD_THROTTLE_ADDRESS: int(30, 1, 1_000_000),
  /** Failed authentications allowed per token (lookup id) per KEYWARD_THROTTLE_WINDOW, then 429. */
  KEYWARD_THROTTLE_TOKEN: int(10, 1, 1_000_000),
  /** The window both failure limits count in. */
  KEYWARD_THROTTLE_WINDOW: duration('1m').refine((v) => v >= 1000, 'must be at least 1s'),
  /** How long a presented value that matched nothing is answered from memory (0 disables). */
  KEYWARD_NEGATIVE_CACHE_TTL: duration('1m'),
  KEYWARD_BODY_LIMIT: int(64 * 1024, 1024, 10 * 1024 * 1024),
  KEYWARD_DOCS_ENABLED: bool(true),
  /** `/metrics` open to anyone who reaches the port (default: it needs a token). */
  KEYWARD_METRICS_PUBLIC: bool(false),
  /** Swagger UI keeps the token typed into "Authorize" across page reloads (in the browser's storage). */
  KEYWARD_DOCS_PERSIST_AUTH: bool(false),
  /**
   * A scraper's secret for `/metrics` (besides API tokens holding `read:metrics`, and the admin token);
   * not an API token: it opens `/metrics` only.
   */
  KEYWARD_METRICS_TOKEN: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z.string().min(16, 'must be at least 16 characters').max(512).optional(),
  ),
  /**
   * Origins allowed to call the API from a browser (comma-separated, e.g.
   * `https://admin.example.com,https://ops.example.com`, or `*`); unset, CORS stays off.
   */
  KEYWARD_CORS_ORIGINS: z.preprocess(
    (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
    z
      .string()
      .optional()
      .transform((value, ctx) => {
        if (value === undefined) return undefined;
        const origins = value
          .split(',')
          .map((o) => o.trim())
          .filter(Boolean);
        for (const origin of origins) {
          if (origin === '*') continue;
          let ok = false;
          try {
            const u = new URL(origin);
            ok = (u.protocol === 'http:' || u.protocol === 'https:') && u.origin === origin;
          } catch {
            /* not a URL */
          }
          if (!ok) {
            ctx.addIssue({ code: 'custom', message: `not an origin: "${origin}" (use e.g. https://app.example.com)` });
            return z.NEVER;
          }
        }
        return origins;
      }),
  ),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  KEYWARD_TRUST_PROXY: bool(false),
  /**
   * On SIGTERM, how long the service keeps its port open answering 503 with `Connection: close`
   * (readiness included) before it stops accepting; requests in flight always finish.
   */
  KEYWARD_SHUTDOWN_DRAIN: duration('5s'),
  KEYWARD_MIGRATE_ON_START: bool(true),
  KEYWARD_DEFAULT_PAGE_SIZE: int(500, 1, 1000),
  KEYWARD_MAX_TOKEN_TTL: duration('3650d'),
  /** How long a positive verification result may be served from memory (0 disables the cache). */
  KEYWARD_AUTH_CACHE_TTL: duration('30s'),
  /**
   * Cached verification results at most (also the bound of the remembered argon2 answers, of the values
   * proven valid and of the remembered misses): ~0.52 KB of heap per cached token in the cache, ~0.9 KB with
   * the other two a verified token leaves (bench/cache-memory.js); 200k ≈ 180 MB, with a full miss cache
   * ≈ 210 MB.
   */
  KEYWARD_AUTH_CACHE_MAX: int(200_000, 1, 10_000_000),
  /**
   * While the database is unreachable, a token confirmed valid within this time keeps working from the
   * cache (0: outages answer 503 for every database token).
   */
  KEYWARD_AUTH_OUTAGE_GRACE: duration('5m'),
  /**
   * The invalidation listener sends itself a notification this often; the cache is trusted only while
   * one sent less than twice this long ago has come back (the staleness bound of invalidation).
   */
  KEYWARD_LISTENER_HEARTBEAT: duration('1s').refine((v) => v >= 50, 'must be at least 50ms'),
  /**
   * `all`: the answer to a revoke, disable, PATCH, rotation, project rename or delete waits until every live
   * instance has acknowledged the invalidation (or KEYWARD_REVOKE_CONFIRM_TIMEOUT passed) and says which in
   * `X-Keyward-Invalidation`. `off`: it answers at once; other instances drop the token within 2x
   * KEYWARD_LISTENER_HEARTBEAT.
   */
  KEYWARD_REVOKE_CONFIRM: z.enum(['off', 'all']).default('off'),
  /** Longest wait for the acknowledgements of KEYWARD_REVOKE_CONFIRM=all (keep it above 2x KEYWARD_LISTENER_HEARTBEAT). */
  KEYWARD_REVOKE_CONFIRM_TIMEOUT: duration('3s').refine((v) => v >= 10 && v <= 60_000, 'must be between 10ms and 60s'),
  /** How often coalesced last_used_at updates are written. */
  KEYWARD_LAST_USED_FLUSH: duration('10s'),
  /** How often the cleanup job runs; `0`/`off` switches the scheduled job off (runOnce still works). */
  KEYWARD_CLEANUP_INTERVAL: optionalDuration('5m', 1000),
  /** Rows deleted per statement (each batch is its own short transaction). */
  KEYWARD_CLEANUP_BATCH_SIZE: int(10_000, 1, 1_000_000),
  /** Pause between cleanup batches, leaving the database to live traffic during a large pass. */
  KEYWARD_CLEANUP_BATCH_PAUSE: duration('10ms'),
  /** How long revoked tokens are kept for audit before the cleanup job removes them (`0`: next pass). */
  KEYWARD_REVOKED_RETENTION: duration('30d'),
  /** How long audit events are kept before the cleanup job removes them (`0`/`off`: kept forever). */
  KEYWARD_AUDIT_RETENTION: optionalDuration('90d', 1000),
  /** How often the webhook worker looks for due deliveries; `0`/`off`: this instance delivers nothing. */
  KEYWARD_WEBHOOK_POLL_INTERVAL: optionalDuration('1s', 10),
  /** Longest wait for a webhook endpoint's answer; slower counts as a failed attempt. */
  KEYWARD_WEBHOOK_TIMEOUT: duration('10s').refine((v) => v >= 100, 'must be at least 100ms'),
  /** Wait after the first failed attempt; each further failure doubles it (up to KEYWARD_WEBHOOK_RETRY_MAX_DELAY). */
  KEYWARD_WEBHOOK_RETRY_BASE: duration('5s').refine((v) => v >= 10, 'must be at least 10ms'),
  KEYWARD_WEBHOOK_RETRY_MAX_DELAY: duration('1h').refine((v) => v >= 10, 'must be at least 10ms'),
  /** How long a delivery is retried (from the event) before it is marked failed. */
  KEYWARD_WEBHOOK_RETRY_WINDOW: duration('24h').refine((v) => v >= 1000, 'must be at least 1s'),
  /** Lead times of `token.expiring` (comma-separated durations, each sent once per token). */
  KEYWARD_WEBHOOK_EXPIRY_LEADS: z
    .string()
    .default('7d,1d')
    .transform((value, ctx) => {
      const leads = value
        .split(',')
        .map((v) => v.trim())
        .filter(Boolean)
        .map((v) => parseDuration(v));
      if (leads.some((l) => l === null || l <= 0)) {
        ctx.addIssue({ code: 'custom', message: `not a list of durations: "${value}" (use e.g. 7d,1d)` });
        return z.NEVER;
      }
      return [...new Set(leads as number[])].sort((a, b) => b - a);
    }),
  /** How often expiring and expired tokens are looked for (`0`/`off`: no expiry events from this instance). */
  KEYWARD_WEBHOOK_EXPIRY_SCAN: optionalDuration('1m', 100),
  /** Token strings checked per client address per KEYWARD_THROTTLE_WINDOW by `POST /v1/tokens/revoke-leaked`. */
  KEYWARD_LEAK_REPORT_LIMIT: int(300, 1, 1_000_000),
});

export type RawConfig = z.input<typeof configSchema>;
export type AppConfig = z.output<typeof configSchema>;

export class ConfigError extends Error {}

/** Parse and validate the environment; throws ConfigError naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): AppConfig {
  const result = configSchema.safeParse(env);
  if (!result.success) {
    // One line, every bad variable named: `invalid configuration: PORT: …; KEYWARD_ADMIN_TOKEN: …`.
    const problems = result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid configuration: ${problems}`);
  }
  return result.data;
}
