import { Inject, Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { createHmac, randomBytes } from 'node:crypto';
import type { Principal } from '../access/principal.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';

interface Entry {
  principal: Principal;
  /** Database token id (for invalidation), or null for admin/tokens-file credentials. */
  tokenId: string | null;
}

/**
 * Bounded in-process cache of positive verification results. Keys are HMAC-SHA256 of the presented
 * token under a per-process random key: the token itself is never a key or a value. An entry never
 * outlives the token's own expiry (nor a rotated secret's grace). Single-use tokens are never cached.
 * Invalidation by token id: locally and synchronously by whoever changed the token, and for other
 * instances through PostgreSQL LISTEN/NOTIFY (see TokenEventsService).
 */
@Injectable()
export class TokenCache {
  private readonly key = randomBytes(32);
  private readonly cache: LRUCache<string, Entry> | null;
  private readonly byToken = new Map<string, Set<string>>();
  private generation = 0;
  /** Lookups answered from memory, and lookups that had to go to the database (read by the metrics). */
  hits = 0;
  misses = 0;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    const ttl = config.KEYWARD_AUTH_CACHE_TTL;
    this.cache =
      ttl > 0
        ? new LRUCache<string, Entry>({
            max: config.KEYWARD_AUTH_CACHE_MAX,
            ttl,
            ttlAutopurge: false,
            dispose: (entry, key) => this.unindex(entry.tokenId, key),
          })
        : null;
  }

  get enabled(): boolean {
    return this.cache !== null;
  }

  keyOf(presented: string): string {
    return createHmac('sha256', this.key).update(presented, 'utf8').digest('base64url');
  }

  get(key: string): Principal | undefined {
    const principal = this.cache?.get(key)?.principal;
    if (principal) this.hits++;
    else this.misses++;
    return principal;
  }

  /** A snapshot of the generation, taken before a slow lookup; `set` ignores results older than an invalidation. */
  snapshot(): number {
    return this.generation;
  }

  set(key: string, principal: Principal, tokenId: string | null, validUntil: Date | null, snapshot: number): void {
    if (!this.cache || snapshot !== this.generation) return;
    let ttl: number | undefined;
    if (validUntil) {
      ttl = Math.min(validUntil.getTime() - Date.now(), this.cache.ttl);
      if (ttl <= 0) return;
    }
    this.cache.set(key, { principal, tokenId }, ttl === undefined ? undefined : { ttl });
    if (tokenId) {
      let keys = this.byToken.get(tokenId);
      if (!keys) this.byToken.set(tokenId, (keys = new Set()));
      keys.add(key);
    }
  }

  /** Drops every cached result for a token id. */
  invalidate(tokenId: string): void {
    this.generation++;
    const keys = this.byToken.get(tokenId);
    if (!keys) return;
    for (const key of [...keys]) this.cache?.delete(key);
    this.byToken.delete(tokenId);
  }

  /** Drops everything (tokens file reloaded, lost notifications). */
  clear(): void {
    this.generation++;
    this.cache?.clear();
    this.byToken.clear();
  }

  get size(): number {
    return this.cache?.size ?? 0;
  }

  private unindex(tokenId: string | null, key: string): void {
    if (!tokenId) return;
    const keys = this.byToken.get(tokenId);
    if (!keys) return;
    keys.delete(key);
    if (!keys.size) this.byToken.delete(tokenId);
  }
}
