import { z } from 'zod';
import ms from 'ms';

/** A duration written as `30s`, `15m`, `1h`, `7d` (parsed by `ms`), or plain milliseconds. */
const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((value, ctx) => {
      const parsed = /^\d+$/.test(value) ? Number(value) : ms(value as ms.StringValue);
      if (typeof parsed !== 'number' || !Number.isFinite(parsed) || parsed < 0) {
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
  DATABASE_POOL_SIZE: int(10, 1, 200),
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
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  KEYWARD_TRUST_PROXY: bool(false),
  KEYWARD_MIGRATE_ON_START: bool(true),
  KEYWARD_DEFAULT_PAGE_SIZE: int(500, 1, 1000),
  KEYWARD_MAX_TOKEN_TTL: duration('3650d'),
  /** How long a positive verification result may be served from memory (0 disables the cache). */
  KEYWARD_AUTH_CACHE_TTL: duration('30s'),
  KEYWARD_AUTH_CACHE_MAX: int(100_000, 1, 10_000_000),
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
});

export type RawConfig = z.input<typeof configSchema>;
export type AppConfig = z.output<typeof configSchema>;

export class ConfigError extends Error {}

/** Parse and validate the environment; throws ConfigError naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): AppConfig {
  const result = configSchema.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n');
    throw new ConfigError(`Invalid configuration:\n${problems}`);
  }
  return result.data;
}
