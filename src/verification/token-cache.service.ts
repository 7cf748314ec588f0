import { Inject, Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { hash, randomBytes } from 'node:crypto';
import type { Principal } from '../access/principal.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import { isDatabaseUnavailable } from '../common/errors/database-errors.js';

/**
 * One cached result, kept small (bench/cache-memory.js): times are milliseconds since the cache's `base`
 * (small integers V8 stores inline, not boxed doubles), whether it is a database token is read from the
 * principal, and a single id is kept bare.
 */
interface Entry {
  principal: Principal;
  /**
   * The ids the verdict depends on (the token's own id, and whatever else its rights derive from):
   * invalidating any of them drops the entry. One id alone is kept as a string. Empty for the admin token
   * and tokens-file entries, which only a reload (`clear`) changes.
   */
  ids: string | readonly string[];
  /** When the entry was stored (the normal path serves it for KEYWARD_AUTH_CACHE_TTL). */
  storedAt: number;
  /** Last time the token was known valid: read from the database, or served while the listener was trusted. */
  checkedAt: number;
  /** Listener session the entry was read in; entries of an earlier session are not trusted again. */
  session: number;
  /** Expiry of the token (or of a rotated secret's grace); null = none. */
  validUntil: number | null;
}

/** Distinct arrays and strings the interning tables hold at most before they start afresh. */
const INTERN_MAX = 4096;

/**
 * Equal permission, project and scope lists (and small strings: kind, creator, owner) shared by every
 * entry that holds them: thousands of tokens of one project hold one frozen `[projectId]`. Bounded: past
 * INTERN_MAX distinct values the table starts afresh (entries keep what they hold; sharing restarts).
 */
class Interner {
  private readonly lists = new Map<string, readonly string[]>();
  private readonly strings = new Map<string, string>();

  list<T extends string>(list: readonly T[]): T[] {
    const key = `${list.length}\u0000${list.join('\u0000')}`;
    let shared = this.lists.get(key);
    if (!shared) {
      if (this.lists.size >= INTERN_MAX) this.lists.clear();
      shared = Object.freeze(list.map((v) => this.string(v)));
      this.lists.set(key, shared);
    }
    return shared as T[];
  }

  string<T extends string>(value: T): T {
    const shared = this.strings.get(value);
    if (shared !== undefined) return shared as T;
    if (this.strings.size >= INTERN_MAX) this.strings.clear();
    this.strings.set(value, value);
    return value;
  }

  clear(): void {
    this.lists.clear();
    this.strings.clear();
  }
}

/** What `snapshot()` returns: where invalidation stood when a lookup began. */
export interface FillSnapshot {
  readonly epoch: number;
  readonly counter: number;
  readonly at: number;
}

const NO_IDS: readonly string[] = Object.freeze([]);

/** How long an invalidation is remembered against fills begun before it (longer than any lookup). */
const INVALIDATION_MEMORY = 60_000;

/**
 * Bounded in-process cache of positive verification results. Keys are keyed SHA-256 digests of the
 * presented token under a per-process random secret (keyOf; 32 bytes as a 32-character string): the
 * token itself is never a key or a value. Entries are compact (see Entry and Interner): a stored principal's lists and small
 * strings are swapped for shared, equal and frozen ones. An entry never
 * outlives the token's own expiry (nor a rotated secret's grace). Single-use tokens are never cached.
 *
 * Invalidation by id, of exactly the entries that depend on it (an entry carries its `ids`): locally and synchronously by whoever changed the token, and for other
 * instances through PostgreSQL LISTEN/NOTIFY (see TokenEventsService). Database tokens are served from
 * here only while that listener is known to be connected and caught up (`trustUntil`, moved forward by
 * its heartbeats) and only if they were read during its current session: otherwise the caller goes to
 * the database. While the database is unreachable, `getDuringOutage` still serves tokens confirmed within
 * KEYWARD_AUTH_OUTAGE_GRACE, so an outage does not log everyone out.
 */
@Injectable()
export class TokenCache {
  /** The per-process random secret of the keyed digest (never leaves the process). */
  private readonly secret = randomBytes(32).toString('latin1');
  /** The last key computed: a caller verifying its own token (or a guard then a route) pays one digest. */
  private lastPresented = '';
  private lastKey = '';
  private readonly cache: LRUCache<string, Entry> | null;
  /** id → key(s) of the entries that depend on it (one key bare, several in a set). */
  private readonly byId = new Map<string, string | Set<string>>();
  private readonly interner = new Interner();
  /** Origin of the entries' times (so that they stay small integers). */
  private readonly base = Date.now();
  private readonly ttl: number;
  private readonly outageGrace: number;
  /** Bumped by what discards everything (a reload, a new listener session): fills begun before are refused. */
  private epoch = 0;
  /** Bumped by every invalidation; `invalidatedAt` keeps the value at each id's latest one. */
  private counter = 0;
  /** id → counter and time of its latest invalidation, oldest first (kept INVALIDATION_MEMORY). */
  private readonly invalidatedAt = new Map<string, { counter: number; at: number }>();
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
            // No TTL bookkeeping in the LRU (two doubles a slot): `entry()` drops what is past
            // KEYWARD_AUTH_CACHE_TTL + KEYWARD_AUTH_OUTAGE_GRACE (kept that long for the outage fallback)
            // or past its validity, the way the LRU's own TTL did.
            dispose: (entry, key) => this.unindex(entry.ids, key),
          })
        : null;
  }

  get enabled(): boolean {
    return this.cache !== null;
  }

  /**
   * The keyed digest of a presented value: SHA-256 over a per-process random 32-byte secret and the
   * value, in one call (~0.7 µs, against ~5 µs for an HMAC object). The digest keys the cache, the
   * throttle and the tokens-file secrets; it is never shown or stored outside this process, so the
   * length extension that rules a secret-prefix hash out as a MAC cannot be used against it: nobody
   * outside can learn a digest to extend, nor compute one without the secret.
   */
  keyOf(presented: string): string {
    if (presented === this.lastPresented) return this.lastKey;
    const key = hash('sha256', this.secret + presented, 'binary'); // 'binary' is latin1: 32 bytes, 32 characters
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

  /** `get` without counting a hit or a miss: a look ahead of `get` (the throttle gate's, before `check`). */
  peek(key: string): Principal | undefined {
    return this.lookup(key);
  }

  /** The entry under `key`, unless it is past its validity or its last use (then it is dropped). */
  private entry(key: string, now: number): Entry | undefined {
    const entry = this.cache?.get(key);
    if (!entry) return undefined;
    const t = now - this.base;
    if (t - entry.storedAt > this.ttl + this.outageGrace || (entry.validUntil !== null && entry.validUntil <= t)) {
      this.cache!.delete(key);
      return undefined;
    }
    return entry;
  }

  private lookup(key: string): Principal | undefined {
    const now = Date.now();
    const entry = this.entry(key, now);
    if (!entry) return undefined;
    const t = now - this.base;
    if (t - entry.storedAt >= this.ttl) return undefined;
    if (entry.principal.source === 'database') {
      if (entry.session !== this.session || now >= this.trustedUntil) return undefined;
      const confirmed = this.confirmedAt - this.base;
      if (confirmed > entry.checkedAt) entry.checkedAt = Math.min(confirmed, t);
    }
    return entry.principal;
  }

  /**
   * The fallback while the database is unreachable (`err` says so): a database token confirmed valid
   * within KEYWARD_AUTH_OUTAGE_GRACE, not expired. Undefined for any other error.
   */
  getDuringOutage(key: string, err: unknown): Principal | undefined {
    if (!this.outageGrace || !isDatabaseUnavailable(err)) return undefined;
    const now = Date.now();
    const entry = this.entry(key, now);
    if (!entry || entry.principal.source !== 'database' || now - this.base - entry.checkedAt > this.outageGrace) {
      return undefined;
    }
    return entry.principal;
  }

  /** Forgets one presented token (the database just gave the authoritative answer). */
  delete(key: string): void {
    this.cache?.delete(key);
  }

  /**
   * Taken before a slow lookup: `set` refuses the result if one of the ids it depends on was invalidated
   * after the snapshot (or everything was). Invalidations of other ids do not matter.
   */
  snapshot(): FillSnapshot {
    return { epoch: this.epoch, counter: this.counter, at: Date.now() };
  }

  set(
    key: string,
    principal: Principal,
    ids: readonly string[],
    validUntil: Date | null,
    snapshot: FillSnapshot,
  ): void {
    if (!this.cache || snapshot.epoch !== this.epoch) return;
    const now = Date.now();
    // Invalidations are remembered for INVALIDATION_MEMORY: an older fill cannot be checked against them.
    if (now - snapshot.at >= INVALIDATION_MEMORY) return;
    for (const id of ids) {
      const last = this.invalidatedAt.get(id);
      if (last && last.counter > snapshot.counter) return;
    }
    if (validUntil && validUntil.getTime() <= now) return;
    const t = now - this.base;
    const entry: Entry = {
      principal: this.compact(principal),
      ids: ids.length === 1 ? ids[0] : ids.length ? Object.freeze(ids.slice()) : NO_IDS,
      storedAt: t,
      checkedAt: t,
      session: this.session,
      validUntil: validUntil ? validUntil.getTime() - this.base : null,
    };
    this.cache.set(key, entry);
    for (const id of ids) {
      const keys = this.byId.get(id);
      if (keys === undefined || keys === key) this.byId.set(id, key);
      else if (typeof keys === 'string') this.byId.set(id, new Set([keys, key]));
      else keys.add(key);
    }
  }

  /**
   * Swaps the principal's lists and small strings, in place, for shared, equal, frozen ones (the caller's
   * object is the one cached: same contents, less memory).
   */
  private compact(p: Principal): Principal {
    const i = this.interner;
    if (typeof p.kind === 'string') p.kind = i.string(p.kind);
    if (Array.isArray(p.permissions)) p.permissions = i.list(p.permissions);
    if (Array.isArray(p.projects)) p.projects = i.list(p.projects);
    if (Array.isArray(p.home)) p.home = i.list(p.home);
    if (Array.isArray(p.scopes)) p.scopes = i.list(p.scopes);
    if (typeof p.parentId === 'string') p.parentId = i.string(p.parentId);
    if (typeof p.owner === 'string') p.owner = i.string(p.owner);
    return p;
  }

  /** Drops exactly the cached results that depend on `id`, and refuses fills of them begun before now. */
  invalidate(id: string): void {
    const now = Date.now();
    this.counter++;
    this.invalidatedAt.delete(id);
    this.invalidatedAt.set(id, { counter: this.counter, at: now });
    for (const [old, { at }] of this.invalidatedAt) {
      if (now - at < INVALIDATION_MEMORY) break;
      this.invalidatedAt.delete(old);
    }
    const keys = this.byId.get(id);
    if (keys === undefined) return;
    for (const key of typeof keys === 'string' ? [keys] : [...keys]) this.cache?.delete(key);
    this.byId.delete(id);
  }

  /** Drops everything (tokens file reloaded). */
  clear(): void {
    this.epoch++;
    this.cache?.clear();
    this.byId.clear();
    this.interner.clear();
  }

  /**
   * The listener lost its connection, or (re)connected: notices may have been missed, so nothing read
   * before now is trusted again on the normal path. Entries are kept for the outage fallback.
   */
  newSession(): void {
    this.epoch++;
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

  private unindex(ids: string | readonly string[], key: string): void {
    for (const id of typeof ids === 'string' ? [ids] : ids) {
      const keys = this.byId.get(id);
      if (keys === undefined) continue;
      if (keys === key) this.byId.delete(id);
      else if (typeof keys !== 'string') {
        keys.delete(key);
        if (keys.size === 1) this.byId.set(id, keys.values().next().value!);
      }
    }
  }
}
