import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import {
  RateLimiterMemory,
  RateLimiterPostgres,
  RateLimiterRes,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible';
import type { Principal } from '../access/principal.js';
import { ApiError } from '../common/errors/api-error.js';
import { DatabaseService } from '../database/database.service.js';
import { UsageRepository } from './usage.repository.js';

/** What the usage limits of a token said about one pass. */
export interface UsageReport {
  /** RATE_LIMITED or USAGE_EXCEEDED; absent when the pass may go on. */
  refused?: 'RATE_LIMITED' | 'USAGE_EXCEEDED';
  /** The rate-limit window after this pass. */
  ratelimit?: { limit: number; remaining: number; reset: Date };
  /** Usage credits left after this pass. */
  remaining?: number;
}

/**
 * Per-token rate limits and usage credits, applied after a VALID verdict (tokens without them cost
 * nothing: `apply` returns at once).
 *
 * Rate limits use rate-limiter-flexible. On PostgreSQL each pass is one atomic upsert of the token's
 * window in `ratelimits` (RateLimiterPostgres), shared by every instance on the database, so the limit is
 * exact across instances; once a window is used up each instance blocks the token in memory until the
 * window ends (no more writes). If the database fails, each instance falls back to its own in-memory
 * window (the insurance limiter): during an outage up to N x limit passes go through on N instances.
 * On the embedded database (one process) the in-memory limiter is the exact one.
 *
 * Usage credits are one atomic UPDATE per pass (UsageRepository): exact across instances.
 */
@Injectable()
export class UsageLimits implements OnModuleDestroy {
  private readonly limiters = new Map<string, RateLimiterAbstract>();

  constructor(
    private readonly db: DatabaseService,
    private readonly usage: UsageRepository,
  ) {}

  /** Applies the token's limits to one pass (`consume`: credits are taken only by a consuming pass). */
  async apply(subject: Principal, consume: boolean): Promise<UsageReport | undefined> {
    const limits = subject.limits;
    if (!limits) return undefined;
    const report: UsageReport = {};
    if (limits.ratelimit) {
      const { limit, durationMs } = limits.ratelimit;
      let res: RateLimiterRes;
      let allowed = true;
      try {
        res = await this.limiter(limit, durationMs).consume(subject.id, 1);
      } catch (e) {
        if (!(e instanceof RateLimiterRes)) throw e;
        res = e;
        allowed = false;
      }
      report.ratelimit = {
        limit,
        remaining: res.remainingPoints,
        reset: new Date(Date.now() + Math.max(res.msBeforeNext, 0)),
      };
      if (!allowed) return { ...report, refused: 'RATE_LIMITED' };
    }
    if (limits.credits && consume) {
      const left = await this.usage.takeCredit(subject.id);
      if (left === null) return { ...report, refused: 'USAGE_EXCEEDED', remaining: 0 };
      report.remaining = left;
    }
    return report;
  }

  /** One limiter per (limit, duration): rate-limiter-flexible fixes both per instance. */
  private limiter(limit: number, durationMs: number): RateLimiterAbstract {
    const name = `${limit}_${durationMs}`;
    let limiter = this.limiters.get(name);
    if (!limiter) {
      const common = { points: limit, duration: durationMs / 1000, keyPrefix: `tok_${name}` };
      const pool = this.db.handle.pool;
      limiter = pool
        ? new RateLimiterPostgres({
            ...common,
            storeClient: pool,
            storeType: 'pool',
            tableName: 'ratelimits',
            tableCreated: true,
            clearExpiredByTimeout: false,
            inMemoryBlockOnConsumed: limit,
            insuranceLimiter: new RateLimiterMemory(common),
          })
        : new RateLimiterMemory(common);
      this.limiters.set(name, limiter);
    }
    return limiter;
  }

  onModuleDestroy(): void {
    this.limiters.clear();
  }
}

/**
 * The HTTP error of a refused pass (guard and forward auth): 429 with `Retry-After` until the window
 * resets for RATE_LIMITED; 403 for USAGE_EXCEEDED (no credits left).
 */
export function usageRefusal(verdict: { code: string; usage?: UsageReport }): ApiError {
  if (verdict.code === 'RATE_LIMITED') {
    const reset = verdict.usage?.ratelimit?.reset ?? new Date();
    return ApiError.rateLimited('This token is rate limited', reset.getTime() - Date.now());
  }
  return ApiError.forbidden('This token has no usage credits left', { reason: 'USAGE_EXCEEDED', remaining: 0 });
}

/**
 * The IETF draft's rate-limit headers (RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset in seconds)
 * for tokens with a rate limit, and `X-Keyward-Remaining` for tokens with usage credits.
 */
export function usageHeaders(usage: UsageReport): Record<string, string> {
  const headers: Record<string, string> = {};
  if (usage.ratelimit) {
    headers['ratelimit-limit'] = String(usage.ratelimit.limit);
    headers['ratelimit-remaining'] = String(usage.ratelimit.remaining);
    headers['ratelimit-reset'] = String(Math.max(0, Math.ceil((usage.ratelimit.reset.getTime() - Date.now()) / 1000)));
  }
  if (usage.remaining !== undefined) headers['x-keyward-remaining'] = String(usage.remaining);
  return headers;
}
