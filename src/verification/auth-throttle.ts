import { Inject, Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { createHmac, randomBytes } from 'node:crypto';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { ApiError } from '../common/api-error.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';

/** Counters for a metrics exporter (and the tests). */
export interface ThrottleStats {
  /** Requests answered 429, by the bucket that refused them. */
  throttled: number;
  throttledByAddress: number;
  throttledByToken: number;
  /** Misses answered from the negative cache (no database, no argon2). */
  negativeHits: number;
}

const TOO_MANY = 'Too many failed authentication attempts: try again later';

/**
 * Keeps failed authentication cheap. Per client address and per token (lookup id, or tokens-file entry),
 * a counter of failures per window (rate-limiter-flexible's memory backend); past it, `429
 * rate_limited` with `Retry-After` before any database lookup or argon2 work. A presented value that
 * matched nothing is remembered (an HMAC of it, in a bounded LRU) and answered from memory for a while.
 *
 * The real holder cannot be locked out by someone else's failures: a token in the positive cache never
 * reaches this class, and a value that succeeded recently is "proven" (remembered by its HMAC) and skips
 * both buckets until it fails. Attempts that succeed give their points back, so only failures count.
 *
 * The client address comes with the verification request (the guard and forward auth give the
 * request's address); callers without one (the verification API's checks of third-party tokens, the
 * CLI) are throttled per token only.
 *
 * An authorization failure (the right secret, asked for a permission or project it lacks) counts like
 * an authentication failure: `chargeForbidden` takes a point from both buckets, proven or not.
 */
@Injectable()
export class AuthThrottle {
  private readonly key = randomBytes(32);
  private readonly byAddress: RateLimiterMemory;
  private readonly byToken: RateLimiterMemory;
  private readonly misses: LRUCache<string, true> | null;
  private readonly proven: LRUCache<string, true>;
  private readonly counters: ThrottleStats = {
    throttled: 0,
    throttledByAddress: 0,
    throttledByToken: 0,
    negativeHits: 0,
  };

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    const duration = Math.max(1, Math.ceil(config.KEYWARD_THROTTLE_WINDOW / 1000));
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
  }

  /**
   * Before a presented value is checked (after the positive cache missed): 429 when its client address
   * is over the limit; `knownMiss` when it matched nothing a moment ago.
   */
  async admit(presented: string, clientAddress: string | undefined): Promise<Admission> {
    const mac = createHmac('sha256', this.key).update(presented, 'utf8').digest('base64url');
    const exempt = this.proven.has(mac);
    const address = exempt ? undefined : clientAddress;
    if (address !== undefined) await this.take(this.byAddress, address, 'address');
    const admission = new Admission(this, mac, address, exempt);
    if (this.misses?.has(mac)) {
      this.counters.negativeHits++;
      admission.knownMiss = true;
    }
    return admission;
  }

  /**
   * An authorization failure of a credential that authenticated (`credential`: its id): one point from
   * the client address's bucket and one from the credential's, whether it came from the cache or not;
   * 429 when either is exhausted.
   */
  async chargeForbidden(clientAddress: string | undefined, credential: string): Promise<void> {
    if (clientAddress !== undefined) await this.take(this.byAddress, clientAddress, 'address');
    await this.take(this.byToken, `forbidden:${credential}`, 'token');
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

  /** @internal */
  settle(admission: Admission, succeeded: boolean, tokenKeys: string[]): void {
    if (succeeded) {
      this.proven.set(admission.mac, true);
      this.misses?.delete(admission.mac);
      this.refund(admission, tokenKeys);
    } else {
      this.proven.delete(admission.mac);
    }
  }

  /** @internal */
  refund(admission: Admission, tokenKeys: string[]): void {
    if (admission.address !== undefined) void this.byAddress.reward(admission.address, 1);
    for (const k of tokenKeys) void this.byToken.reward(k, 1);
  }

  /** @internal */
  rememberMiss(mac: string): void {
    this.misses?.set(mac, true);
  }

  private async take(limiter: RateLimiterMemory, key: string, kind: 'address' | 'token'): Promise<void> {
    try {
      await limiter.consume(key, 1);
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
      this.counters.throttled++;
      if (kind === 'address') this.counters.throttledByAddress++;
      else this.counters.throttledByToken++;
      throw ApiError.rateLimited(TOO_MANY, err.msBeforeNext);
    }
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
    this.throttle.settle(this, ok, this.tokenKeys);
    if (verdict.code === 'NOT_FOUND') this.throttle.rememberMiss(this.mac);
    return verdict;
  }
}
