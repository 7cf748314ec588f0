import { Inject, Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import { PasswordHasher } from './password-hasher.js';

/**
 * Identification, remembered apart from the verdict: "this presented value matches (or does not match)
 * this argon2 hash". The answer never changes for a given pair, so it needs no invalidation: a rotated
 * secret is a new hash, and the token's state (revoked, used, disabled, expired) is read apart from it.
 * Each presented value therefore costs at most one argon2 verification per hash it is checked against
 * per KEYWARD_AUTH_CACHE_TTL, whatever the verdict, single-use tokens included; concurrent checks of the
 * same pair share one computation. Keys are the presented value's keyed digest (never the value) with the hash.
 * With the cache disabled (KEYWARD_AUTH_CACHE_TTL=0) every check runs argon2.
 */
@Injectable()
export class SecretMatches {
  private readonly known: LRUCache<string, Promise<boolean>> | null;
  /** argon2 verifications avoided (read by the metrics and the tests). */
  remembered = 0;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly hasher: PasswordHasher,
  ) {
    const ttl = config.KEYWARD_AUTH_CACHE_TTL;
    this.known = ttl > 0 ? new LRUCache({ max: config.KEYWARD_AUTH_CACHE_MAX, ttl, ttlAutopurge: false }) : null;
  }

  /**
   * Does `presented` (whose keyed digest is `mac`) match `hash`? `beforeArgon2` runs only when argon2 is about
   * to run (the throttle's per-credential bucket).
   */
  async matches(mac: string, hash: string, presented: string, beforeArgon2?: () => Promise<void>): Promise<boolean> {
    const key = `${mac}\u0000${hash}`;
    const known = this.known?.get(key);
    if (known) {
      this.remembered++;
      return known;
    }
    await beforeArgon2?.();
    // A check started meanwhile (while the throttle was consulted) is shared.
    const started = this.known?.get(key);
    if (started) {
      this.remembered++;
      return started;
    }
    const check = this.hasher.verify(hash, presented);
    this.known?.set(key, check);
    // A failed computation (the argon2 queue was full: 503) is not an answer.
    check.catch(() => this.known?.delete(key));
    return check;
  }
}
