import { Inject, Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { createHmac, createSecretKey, type KeyObject, randomBytes } from 'node:crypto';
import type { Principal } from '../access/principal.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import { isDatabaseUnavailable } from '../common/database-errors.js';

interface Entry {
  principal: Principal;
  /** Database token id (for invalidation), or null for admin/tokens-file credentials. */
  tokenId: string | null;
  /** When the entry was stored (the normal path serves it for KEYWARD_AUTH_CACHE_TTL). */
  storedAt: number;
  /** Last time the token was known valid: read from the database, or served while the listener was trusted. */
  checkedAt: number;
  /** Listener session the entry was read in; entries of an earlier session are not trusted again. */
  session: number;
  /** Expiry of the token (or of a rotated secret's grace), ms since the epoch; null = none. */
  validUntil: number | null;
}

/**
 * Bounded in-process cache of positive verification results. Keys are HMAC-SHA256 of the presented
 * token under a per-process random key: the token itself is never a key or a value. An entry never
 * outlives the token's own expiry (nor a rotated secret's grace). Single-use tokens are never cached.
 *
 * Invalidation by token id: locally and synchronously by whoever changed the token, and for other
 * instances through PostgreSQL LISTEN/NOTIFY (see TokenEventsService). Database tokens are served from
 * here only while that listener is known to be connected and caught up (`trustUntil`, moved forward by
 * its heartbeats) and only if they were read during its current session: otherwise the caller goes to
 * the database. While the database is unreachable, `getDuringOutage` still serves tokens confirmed within
 * KEYWARD_AUTH_OUTAGE_GRACE, so an outage does not log everyone out.
 */
@Injectable()
export class TokenCache {
  private readonly key: KeyObject = createSecretKey(randomBytes(32));
  /** The last key computed: a caller verifying its own token (or a guard then a route) pays one HMAC. */
  private lastPresented = '';
  private lastKey = '';
  private readonly cache: LRUCache<string, Entry> | null;
  private readonly byToken = new Map<string, Set<string>>();
  private readonly ttl: number;
  private readonly outageGrace: number;
  private generation = 0;
  private session = 0;
  /** Database entries are served while Date.now() is below this (0: not trusted, Infinity: embedded). */
  private trustedUntil = 0;
  /** When the newest heartbeat that came back was sent: every change committed before it was seen. */
  private confirmedAt = 0;
  /** Lookups answered from memory, and lookups that had to go to the database (read by the metrics). */
  hits = 0;
  misses = 0;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.ttl = config.KEYWARD_AUTH_CACHE_TTL;
    this.outageGrace = config.KEYWARD_AUTH_OUTAGE_GRACE;
    this.cache =
      this.ttl > 0
        ? new LRUCache<string, Entry>({
            max: config.KEYWARD_AUTH_CACHE_MAX,
            // Kept past the TTL for the outage fallback; the normal path checks `storedAt` itself.
            ttl: this.ttl + this.outageGrace,
            ttlAutopurge: false,
            dispose: (entry, key) => this.unindex(entry.tokenId, key),
          })
        : null;
  }

  get enabled(): boolean {
    return this.cache !== null;
  }

  keyOf(presented: string): string {
    if (presented === this.lastPresented) return this.lastKey;
    const key = createHmac('sha256', this.key).update(presented, 'utf8').digest('base64url');
    this.lastPresented = presented;
    this.lastKey = key;
    return key;
  }

  /** A cached result the normal path may use (database tokens only while invalidation is trusted). */
  get(key: string): Principal | undefined {
    const principal = this.lookup(key);
    if (principal) this.hits++;
    else this.misses++;
    return principal;
  }

  private lookup(key: string): Principal | undefined {
    const entry = this.cache?.get(key);
    if (!entry) return undefined;
    const now = Date.now();
    if (now - entry.storedAt >= this.ttl || (entry.validUntil !== null && entry.validUntil <= now)) return undefined;
    if (entry.tokenId !== null) {
      if (entry.session !== this.session || now >= this.trustedUntil) return undefined;
      if (this.confirmedAt > entry.checkedAt) entry.checkedAt = Math.min(this.confirmedAt, now);
    }
    return entry.principal;
  }

  /**
   * The fallback while the database is unreachable (`err` says so): a database token confirmed valid
   * within KEYWARD_AUTH_OUTAGE_GRACE, not expired. Undefined for any other error.
   */
  getDuringOutage(key: string, err: unknown): Principal | undefined {
    if (!this.outageGrace || !isDatabaseUnavailable(err)) return undefined;
    const entry = this.cache?.get(key);
    const now = Date.now();
    if (!entry || entry.tokenId === null || now - entry.checkedAt > this.outageGrace) return undefined;
    if (entry.validUntil !== null && entry.validUntil <= now) return undefined;
    return entry.principal;
  }

  /** Forgets one presented token (the database just gave the authoritative answer). */
  delete(key: string): void {
    this.cache?.delete(key);
  }

  /** A snapshot of the generation, taken before a slow lookup; `set` ignores results older than an invalidation. */
  snapshot(): number {
    return this.generation;
  }

  set(key: string, principal: Principal, tokenId: string | null, validUntil: Date | null, snapshot: number): void {
    if (!this.cache || snapshot !== this.generation) return;
    const now = Date.now();
    let ttl: number | undefined;
    if (validUntil) {
      ttl = Math.min(validUntil.getTime() - now, this.ttl + this.outageGrace);
      if (ttl <= 0) return;
    }
    const entry: Entry = {
      principal,
      tokenId,
      storedAt: now,
      checkedAt: now,
      session: this.session,
      validUntil: validUntil ? validUntil.getTime() : null,
    };
    this.cache.set(key, entry, ttl === undefined ? undefined : { ttl });
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

  /** Drops everything (tokens file reloaded). */
  clear(): void {
    this.generation++;
    this.cache?.clear();
    this.byToken.clear();
  }

  /**
   * The listener lost its connection, or (re)connected: notices may have been missed, so nothing read
   * before now is trusted again on the normal path. Entries are kept for the outage fallback.
   */
  newSession(): void {
    this.generation++;
    this.session++;
    this.trustedUntil = 0;
  }

  /** A heartbeat sent at `sentAt` came back: every change committed before it has been seen. */
  confirm(sentAt: number, bound: number): void {
    if (sentAt > this.confirmedAt) this.confirmedAt = sentAt;
    this.trustedUntil = Math.max(this.trustedUntil, sentAt + bound);
  }

  /** No listener is needed (one embedded database in this process): invalidation is always synchronous. */
  trustAlways(): void {
    this.trustedUntil = Number.POSITIVE_INFINITY;
  }

  /** Whether database entries are served from memory right now. */
  get trusted(): boolean {
    return Date.now() < this.trustedUntil;
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
