import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { RateLimiterMemory, RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import type { Principal } from '../access/principal.js';
import { ApiError } from '../common/errors/api-error.js';
import { DatabaseService } from '../database/database.service.js';
import { CreditBatches } from './credit-batches.js';
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

/** A rate-limit verdict for one pass. */
interface WindowAnswer {
  allowed: boolean;
  remaining: number;
  /** When the window ends (epoch ms, this instance's clock). */
  reset: number;
}

/**
 * This instance's lease on one token's shared window: points taken from the window in one write and
 * spent from memory.
 */
interface Lease {
  /** Points leased and not spent yet. */
  left: number;
  /** Points of the window leased by every instance, as of this instance's last lease (at most the limit). */
  taken: number;
  /** When the window ends (epoch ms): the lease ends with it. */
  end: number;
}

/** Limits up to this take one point per write (exact across instances). */
const EXACT_UP_TO = 100;
/** Larger limits lease this share of the limit per write... */
const LEASE_SHARE = 0.02;
/** ...but never more than this many points at once. */
const LEASE_MAX = 1000;

/**
 * Points one instance takes from a shared window per database write: 1 for limits up to 100 (exact),
 * else 2 % of the limit, at most 1,000.
 */
function leaseSize(limit: number): number {
  return limit <= EXACT_UP_TO ? 1 : Math.min(LEASE_MAX, Math.max(1, Math.floor(limit * LEASE_SHARE)));
}

/** A lease request failed on the database: the pass goes to the insurance limiter. */
const OUTAGE = Symbol('outage');

/**
 * Per-token rate limits and usage credits, applied after a VALID verdict (tokens without them cost
 * nothing: `apply` returns at once).
 *
 * Rate limits use rate-limiter-flexible. On PostgreSQL the token's window lives in `ratelimits`
 * (RateLimiterPostgres), shared by every instance on the database, and each instance takes its passes
 * from it in **leases**: one atomic upsert takes L points (`consume(key, L)`), which the instance then
 * spends from memory. L is 1 for limits up to 100 (every pass is one write: exact) and 2 % of the limit,
 * at most 1,000, above. When a lease is used up the next pass takes a new one; concurrent passes share
 * one lease request in flight (single-flight), so an instance holds at most one lease per token. When the
 * window has fewer than L points left, the instance gets only those (read from the upsert's consumed
 * points), so the cluster never admits more than `limit` passes per window. A lease ends with its window.
 * Error bound: an instance refuses once its lease is empty and the window is fully leased, so across N
 * instances at most (N - 1) x L passes of a window can be refused early (leased but unused elsewhere).
 *
 * RateLimit-Remaining with leases: limit - (points leased by the cluster as of this instance's last
 * lease) + (this instance's unspent lease). Exact on one instance; across instances an upper bound that
 * does not see other instances' leases taken since this one's.
 *
 * If a lease request fails on the database, each pass of that moment falls back to the instance's own
 * in-memory window (the insurance limiter): during an outage up to N x limit passes go through on N
 * instances. On the embedded database (one process) the in-memory limiter is the exact one, one point
 * per pass.
 *
 * Usage credits are atomic UPDATEs (UsageRepository), exact across instances; concurrent passes of this
 * instance share one statement (CreditBatches).
 */
@Injectable()
export class UsageLimits implements OnModuleDestroy {
  /** Per (limit, duration): the shared window (PostgreSQL) and the in-memory one (PGlite, or insurance). */
  private readonly limiters = new Map<string, { shared: RateLimiterPostgres | null; memory: RateLimiterMemory }>();
  /** This instance's leases, by `<limit>_<duration>:<token id>`. */
  private readonly leases = new Map<string, Lease>();
  /** The lease requests in flight, by the same key (one per token at a time). */
  private readonly renewals = new Map<string, Promise<void | typeof OUTAGE>>();
  private nextSweep = 0;
  private readonly credits: CreditBatches;

  constructor(
    private readonly db: DatabaseService,
    usage: UsageRepository,
  ) {
    this.credits = new CreditBatches(usage);
  }

  /** Applies the token's limits to one pass (`consume`: credits are taken only by a consuming pass). */
  async apply(subject: Principal, consume: boolean): Promise<UsageReport | undefined> {
    const limits = subject.limits;
    if (!limits) return undefined;
    const report: UsageReport = {};
    if (limits.ratelimit) {
      const { limit, durationMs } = limits.ratelimit;
      const answer = await this.pass(subject.id, limit, durationMs);
      report.ratelimit = { limit, remaining: answer.remaining, reset: new Date(answer.reset) };
      if (!answer.allowed) return { ...report, refused: 'RATE_LIMITED' };
    }
    if (limits.credits && consume) {
      const left = await this.credits.take(subject.id);
      if (left === null) return { ...report, refused: 'USAGE_EXCEEDED', remaining: 0 };
      report.remaining = left;
    }
    return report;
  }

  /** One pass of token `id` through its window: from this instance's lease, taking a new one if needed. */
  private async pass(id: string, limit: number, durationMs: number): Promise<WindowAnswer> {
    const limiters = this.limiter(limit, durationMs);
    const shared = limiters.shared;
    if (!shared) return this.inMemory(limiters.memory, id);
    const key = `${limit}_${durationMs}:${id}`;
    for (;;) {
      const lease = this.leases.get(key);
      const now = Date.now();
      if (lease && lease.end > now) {
        if (lease.left > 0) {
          lease.left--;
          return { allowed: true, remaining: Math.max(limit - lease.taken, 0) + lease.left, reset: lease.end };
        }
        // The window is fully leased (to this instance or others): refused until it ends, no write.
        if (lease.taken >= limit) return { allowed: false, remaining: 0, reset: lease.end };
      }
      let renewal = this.renewals.get(key);
      if (!renewal) {
        renewal = this.renew(shared, key, id, limit).finally(() => this.renewals.delete(key));
        this.renewals.set(key, renewal);
      }
      if ((await renewal) === OUTAGE) return this.inMemory(limiters.memory, id);
      // Take from the new lease, or (if concurrent passes emptied it first) join the next request.
    }
  }

  /** Takes a lease of up to L points from the shared window in one write and stores it. */
  private async renew(
    shared: RateLimiterPostgres,
    key: string,
    id: string,
    limit: number,
  ): Promise<void | typeof OUTAGE> {
    const size = leaseSize(limit);
    let res: RateLimiterRes;
    let granted: number;
    let taken: number;
    try {
      res = await shared.consume(id, size);
      granted = size;
      taken = Math.min(res.consumedPoints, limit);
    } catch (e) {
      if (!(e instanceof RateLimiterRes)) return OUTAGE;
      res = e;
      // Refused: the window is used up. A write that crossed the limit got the points that were left;
      // a window already blocked in memory answers with no consumed points and gives none.
      granted = res.consumedPoints > limit ? Math.max(0, limit - (res.consumedPoints - size)) : 0;
      taken = limit;
    }
    const now = Date.now();
    this.leases.set(key, { left: granted, taken, end: now + Math.max(res.msBeforeNext, 0) });
    if (now >= this.nextSweep) this.sweep(now);
  }

  /** Forgets the leases whose windows ended (at most once a minute, on the lease path). */
  private sweep(now: number): void {
    this.nextSweep = now + 60_000;
    for (const [key, lease] of this.leases) if (lease.end <= now && !this.renewals.has(key)) this.leases.delete(key);
  }

  /** One point of the in-memory window (PGlite's exact limiter, or the insurance during an outage). */
  private async inMemory(memory: RateLimiterMemory, id: string): Promise<WindowAnswer> {
    let res: RateLimiterRes;
    let allowed = true;
    try {
      res = await memory.consume(id, 1);
    } catch (e) {
      if (!(e instanceof RateLimiterRes)) throw e;
      res = e;
      allowed = false;
    }
    return { allowed, remaining: res.remainingPoints, reset: Date.now() + Math.max(res.msBeforeNext, 0) };
  }

  /** The limiters of one (limit, duration): rate-limiter-flexible fixes both per limiter. */
  private limiter(limit: number, durationMs: number) {
    const name = `${limit}_${durationMs}`;
    let limiters = this.limiters.get(name);
    if (!limiters) {
      const common = { points: limit, duration: durationMs / 1000, keyPrefix: `tok_${name}` };
      // A used-up window answers lease requests from memory until it ends.
      limiters = { shared: this.db.sharedLimiter(common), memory: new RateLimiterMemory(common) };
      this.limiters.set(name, limiters);
    }
    return limiters;
  }

  onModuleDestroy(): void {
    this.limiters.clear();
    this.leases.clear();
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
