import { Inject, Injectable, Logger } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { RateLimiterMemory, RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import { ApiError } from '../common/errors/api-error.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import { DatabaseService } from '../database/database.service.js';

/** Counters for a metrics exporter (and the tests). */
export interface ThrottleStats {
  /** Requests answered 429, by the bucket that refused them. */
  throttled: number;
  throttledByAddress: number;
  throttledByToken: number;
  /** Misses answered from the negative cache (no database, no argon2). */
  negativeHits: number;
}

type Kind = 'address' | 'token';

/** A method of rate-limiter-flexible's store limiters (RateLimiterStoreAbstract) its typings leave out. */
interface InMemoryBlocks {
  getInMemoryBlockMsBeforeExpire(rlKey: string): number;
}

const TOO_MANY = 'Too many failed authentication attempts: try again later';

/**
 * Keeps failed authentication cheap. Per client address and per token (lookup id, or tokens-file entry),
 * a counter of failures per window (rate-limiter-flexible's memory backend); past it, `429
 * rate_limited` with `Retry-After` before any database lookup or argon2 work. A presented value that
 * matched nothing is remembered (by its keyed digest, in a bounded LRU) and answered from memory for a while.
 * The digest is the verification cache's key of the value (SHA-256 under a per-process random secret,
 * TokenCache.keyOf): one digest per request serves the cache and the throttle, and the value itself is
 * never stored here.
 *
 * The real holder cannot be locked out by someone else's failures: a token in the positive cache never
 * reaches this class, and a value that succeeded recently is "proven" (remembered by its digest) and skips
 * both buckets until it fails. Attempts that succeed give their points back, so only failures count.
 *
 * The client address comes with the verification request (the guard and forward auth give the
 * request's address); callers without one (the verification API's checks of third-party tokens, the
 * CLI) are throttled per token only.
 *
 * An authorization failure (the right secret, asked for a permission or project it lacks) counts like
 * an authentication failure: `chargeForbidden` takes a point from both buckets, proven or not.
 *
 * Across instances (PostgreSQL): each failure is also counted in the shared `ratelimits` table
 * (RateLimiterPostgres, one atomic upsert per failed attempt and bucket; nothing for a success). The
 * instance whose write brings a key's cluster-wide count to the limit blocks the key in memory for the
 * rest of the window; every instance checks only that in-memory block on admission, so an attempt that
 * succeeds costs no database work and a blocked flood none either. An instance learns of the block from
 * its own next failure: an attacker who waits for each answer gets at most limit + (instances - 1)
 * failures per window over the cluster, and each further attempt in flight at once can add one. A
 * failed write (database down) falls back to an in-memory count (the insurance limiter); the in-process
 * buckets keep bounding each instance to the limit whatever happens. On the embedded database (one
 * process) there are no shared counters: the in-process buckets are exact.
 */
@Injectable()
export class AuthThrottle {
  private readonly byAddress: RateLimiterMemory;
  private readonly byToken: RateLimiterMemory;
  private readonly misses: LRUCache<string, true> | null;
  private readonly proven: LRUCache<string, true>;
  /** Keys refused by this instance, and when their refusal ends (bounded: the oldest are forgotten). */
  private readonly blocked: Record<Kind, LRUCache<string, number>>;
  /** The cluster-wide failure counters (made on the first failure: the pool exists by then); null: embedded. */
  private shared: Record<Kind, RateLimiterPostgres> | null | undefined;
  private readonly logger = new Logger('AuthThrottle');
  private readonly counters: ThrottleStats = {
    throttled: 0,
    throttledByAddress: 0,
    throttledByToken: 0,
    negativeHits: 0,
  };
  private readonly duration: number;
  private readonly limits: Record<Kind, number>;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly db: DatabaseService,
  ) {
    const duration = Math.max(1, Math.ceil(config.KEYWARD_THROTTLE_WINDOW / 1000));
    this.duration = duration;
    this.limits = { address: config.KEYWARD_THROTTLE_ADDRESS, token: config.KEYWARD_THROTTLE_TOKEN };
    this.byAddress = new RateLimiterMemory({
      keyPrefix: 'addr',
      points: config.KEYWARD_THROTTLE_ADDRESS,
      duration,
    });
    this.byToken = new RateLimiterMemory({
      keyPrefix: 'tok',
      points: config.KEYWARD_THROTTLE_TOKEN,
      duration,
    });
    const ttl = config.KEYWARD_NEGATIVE_CACHE_TTL;
    this.misses = ttl > 0 ? new LRUCache({ max: config.KEYWARD_AUTH_CACHE_MAX, ttl }) : null;
    this.proven = new LRUCache({ max: config.KEYWARD_AUTH_CACHE_MAX, ttl: 24 * 3_600_000 });
    this.blocked = { address: new LRUCache({ max: 100_000 }), token: new LRUCache({ max: 100_000 }) };
  }

  /**
   * Before a presented value is checked (after the positive cache missed): 429 when its client address
   * is over the limit; `knownMiss` when it matched nothing a moment ago. `mac`: the value's keyed digest
   * (TokenCache.keyOf), never the value.
   */
  async admit(mac: string, clientAddress: string | undefined): Promise<Admission> {
    const exempt = this.proven.has(mac);
    const address = exempt ? undefined : clientAddress;
    if (address !== undefined) await this.take(this.byAddress, address, 'address');
    const admission = new Admission(this, mac, address, exempt);
    if (this.misses?.has(mac)) {
      this.counters.negativeHits++;
      admission.knownMiss = true;
      if (address !== undefined) await this.recordFailures([['address', address]]);
    }
    return admission;
  }

  /**
   * Admission's first step, without an await: the 429 to answer when this instance refused the client
   * address a moment ago and the value has not proven itself (as `admit` would refuse it); null when
   * `admit` must decide.
   */
  refusalNow(mac: string, clientAddress: string | undefined): ApiError | null {
    if (clientAddress === undefined) return null;
    const left = this.blockedFor('address', clientAddress);
    if (left <= 0 || this.proven.has(mac)) return null;
    return this.refusal('address', left);
  }

  /** Whether this instance refused the client address a moment ago (its window has not ended). */
  refuses(clientAddress: string | undefined): boolean {
    return clientAddress !== undefined && this.blockedFor('address', clientAddress) > 0;
  }

  /**
   * An authorization failure of a credential that authenticated (`credential`: its id): one point from
   * the client address's bucket and one from the credential's, whether it came from the cache or not;
   * 429 when either is exhausted.
   */
  async chargeForbidden(clientAddress: string | undefined, credential: string): Promise<void> {
    const tokenKey = `forbidden:${credential}`;
    if (clientAddress !== undefined) await this.take(this.byAddress, clientAddress, 'address');
    await this.take(this.byToken, tokenKey, 'token');
    const failed: [Kind, string][] = [['token', tokenKey]];
    if (clientAddress !== undefined) failed.push(['address', clientAddress]);
    await this.recordFailures(failed);
  }

  /** Forgets every remembered miss (a tokens file was reloaded: a value may match now). */
  clearMisses(): void {
    this.misses?.clear();
  }

  get stats(): ThrottleStats {
    return { ...this.counters };
  }

  /** @internal Admission's callbacks. */
  async takeToken(tokenKey: string): Promise<void> {
    await this.take(this.byToken, tokenKey, 'token');
  }

  /** @internal A verdict: a success gives the points back; a failure is counted cluster-wide too. */
  async settle(admission: Admission, succeeded: boolean, tokenKeys: string[]): Promise<void> {
    if (succeeded) {
      this.proven.set(admission.mac, true);
      this.misses?.delete(admission.mac);
      this.refund(admission, tokenKeys);
    } else {
      this.proven.delete(admission.mac);
      const failed: [Kind, string][] = tokenKeys.map((k) => ['token', k]);
      if (admission.address !== undefined) failed.push(['address', admission.address]);
      await this.recordFailures(failed);
    }
  }

  /** @internal */
  refund(admission: Admission, tokenKeys: string[]): void {
    if (admission.address !== undefined) {
      void this.byAddress.reward(admission.address, 1);
      this.blocked.address.delete(admission.address);
    }
    for (const k of tokenKeys) {
      void this.byToken.reward(k, 1);
      this.blocked.token.delete(k);
    }
  }

  /** @internal */
  rememberMiss(mac: string): void {
    this.misses?.set(mac, true);
  }

  /**
   * One attempt against a key: 429 when the cluster has used up the key's window (known from this
   * instance's in-memory block, no database) or when this instance's own bucket is empty.
   */
  private async take(limiter: RateLimiterMemory, key: string, kind: Kind): Promise<void> {
    // A key refused a moment ago is refused again at once, until its window ends (a flood from one
    // address costs a map lookup, not a limiter call).
    const left = this.blockedFor(kind, key);
    if (left > 0) this.refuse(kind, left);
    const shared = this.shared?.[kind];
    const blockedFor = shared
      ? (shared as unknown as InMemoryBlocks).getInMemoryBlockMsBeforeExpire(shared.getKey(key))
      : 0;
    if (blockedFor > 0) this.refuse(kind, blockedFor, key);
    try {
      await limiter.consume(key, 1);
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
      this.refuse(kind, err.msBeforeNext, key);
    }
  }

  /** How long this instance still refuses `key` (ms; 0 when it does not: a refusal past its end is forgotten). */
  private blockedFor(kind: Kind, key: string): number {
    const blocked = this.blocked[kind];
    const until = blocked.get(key);
    if (until === undefined) return 0;
    const left = until - Date.now();
    if (left > 0) return left;
    blocked.delete(key);
    return 0;
  }

  /** 429; `key`: remember the refusal until the window ends (not when it is already remembered). */
  private refuse(kind: Kind, msBeforeNext: number, key?: string): never {
    if (key !== undefined) this.blocked[kind].set(key, Date.now() + msBeforeNext);
    throw this.refusal(kind, msBeforeNext);
  }

  /** The 429 of a refused attempt, counted. */
  private refusal(kind: Kind, msBeforeNext: number): ApiError {
    this.counters.throttled++;
    if (kind === 'address') this.counters.throttledByAddress++;
    else this.counters.throttledByToken++;
    return ApiError.rateLimited(TOO_MANY, msBeforeNext);
  }

  /**
   * Counts failed attempts in the cluster-wide counters (PostgreSQL): one upsert per key, in parallel.
   * The write that reaches the limit blocks the key in this instance's memory until its window ends.
   * Never throws: a database error falls back to the insurance limiter, and any other is logged.
   */
  private async recordFailures(failed: [Kind, string][]): Promise<void> {
    const shared = this.sharedCounters();
    if (!shared || !failed.length) return;
    await Promise.all(
      failed.map(([kind, key]) =>
        shared[kind].consume(key, 1).then(
          () => undefined,
          (err: unknown) => {
            if (!(err instanceof RateLimiterRes)) {
              this.logger.warn(`counting a failed authentication: ${(err as Error).message ?? String(err)}`);
            }
          },
        ),
      ),
    );
  }

  private sharedCounters(): Record<Kind, RateLimiterPostgres> | null {
    if (this.shared !== undefined) return this.shared;
    // Blocks in memory (for the rest of the window) from the failure that reaches the limit.
    const limiter = (kind: Kind) => {
      const common = { keyPrefix: `authfail_${kind}`, points: this.limits[kind], duration: this.duration };
      return this.db.sharedLimiter({ ...common, insuranceLimiter: new RateLimiterMemory(common) });
    };
    const address = limiter('address');
    const token = limiter('token');
    return (this.shared = address && token ? { address, token } : null);
  }
}

/** One check of one presented value, from admission to verdict. */
export class Admission {
  knownMiss = false;
  private readonly tokenKeys: string[] = [];

  constructor(
    private readonly throttle: AuthThrottle,
    readonly mac: string,
    readonly address: string | undefined,
    private readonly exempt: boolean,
  ) {}

  /** Right before argon2 work for a token (a lookup id, a tokens-file entry): 429 when it is over its limit. */
  async beforeArgon2(tokenKey: string): Promise<void> {
    if (this.exempt) return;
    await this.throttle.takeToken(tokenKey);
    this.tokenKeys.push(tokenKey);
  }

  /**
   * Runs the check and books its verdict: a right secret (`VALID`, or `FORBIDDEN`: right token, wrong
   * rights) gives the points back and proves the value; `NOT_FOUND` is remembered as a miss; the other
   * verdicts (revoked, expired, used, disabled) keep their points. A check that throws (database down,
   * argon2 queue full) counts as neither and gives the points back; a 429 keeps them.
   */
  async settle<V extends { code: string }>(check: () => Promise<V>): Promise<V> {
    let verdict: V;
    try {
      verdict = await check();
    } catch (err) {
      // A 429 keeps what was taken, so a flood drains the address bucket and stops before the database.
      if (!(err instanceof ApiError && err.status === 429)) this.throttle.refund(this, this.tokenKeys);
      throw err;
    }
    const ok = verdict.code === 'VALID' || verdict.code === 'FORBIDDEN';
    await this.throttle.settle(this, ok, this.tokenKeys);
    if (verdict.code === 'NOT_FOUND') this.throttle.rememberMiss(this.mac);
    return verdict;
  }
}
