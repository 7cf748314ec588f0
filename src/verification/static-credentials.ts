import { Injectable } from '@nestjs/common';
import { timingSafeEqual } from 'node:crypto';
import { SecretMatches } from './secret-matches.js';
import { TokenCache } from './token-cache.service.js';
import type { Principal } from '../access/principal.js';
import { AuthThrottle } from './auth-throttle.js';
import { TokenEventsService } from './token-events.service.js';

/**
 * Credentials that live outside the database: the bootstrap admin token and tokens files.
 * Secrets are kept only as a keyed SHA-256 digest under a per-process random secret (TokenCache's; or as the argon2
 * hash a file gave), in memory; nothing here is ever written to the database or a log.
 */
export interface StaticEntry {
  principal: Principal;
  enabled: boolean;
  /** Keyed digest of the secret (for entries given as a secret). */
  mac?: Buffer;
  /** argon2 hash (for entries given only as a hash). */
  argon2Hash?: string;
  /** For hashed entries: what the secret starts with (its stub without the `…`); argon2 runs only then. */
  stubPrefix?: string;
  /** Where the entry came from, for messages: `KEYWARD_ADMIN_TOKEN` or a file path. */
  origin: string;
  /**
   * Projects the entry is confined to, by name or id as written; null = every project. The verifier
   * resolves them to canonical ids on each (uncached) use; until then `principal.projects` is [].
   */
  projectRefs: string[] | null;
}

@Injectable()
export class StaticCredentials {
  private byMac = new Map<string, StaticEntry>();
  private hashed: StaticEntry[] = [];
  private groups = new Map<string, StaticEntry[]>();

  constructor(
    private readonly secrets: SecretMatches,
    private readonly cache: TokenCache,
    private readonly throttle: AuthThrottle,
    private readonly events: TokenEventsService,
  ) {}

  /**
   * The secret's keyed digest: the cache's own key of it (SHA-256 under a per-process random secret), so
   * a presented token that is looked up in the cache and then here costs one digest, not two.
   */
  mac(secret: string): Buffer {
    return Buffer.from(this.cache.keyOf(secret), 'latin1');
  }

  /** Replaces every entry of one origin group (e.g. `admin`, `file`) atomically. */
  replace(group: string, entries: StaticEntry[]): void {
    this.groups.set(group, entries);
    const byMac = new Map<string, StaticEntry>();
    const hashed: StaticEntry[] = [];
    for (const list of this.groups.values()) {
      for (const e of list) {
        if (e.mac) byMac.set(e.mac.toString('latin1'), e);
        else if (e.argon2Hash) hashed.push(e);
      }
    }
    this.byMac = byMac;
    this.hashed = hashed;
    // Cached verdicts may name entries that were just removed or disabled; remembered misses may match now.
    this.events.credentialsReplaced();
    this.throttle.clearMisses();
  }

  get size(): number {
    return this.byMac.size + this.hashed.length;
  }

  entries(): StaticEntry[] {
    return [...this.groups.values()].flat();
  }

  /**
   * The entry whose secret is `presented`, enabled or not; null when none matches. Entries kept as argon2
   * hashes cost argon2 only for values that start with their stub (`token_stub`, written by `keyward
   * token reset --hash-only`); an entry without a stub is tried for every value that matched nothing else.
   */
  async match(presented: string, gate?: { beforeArgon2(key: string): Promise<void> }): Promise<StaticEntry | null> {
    const key = this.cache.keyOf(presented);
    const hit = this.byMac.get(key);
    if (hit?.mac && timingSafeEqual(hit.mac, this.mac(presented))) return hit;
    for (const entry of this.hashed) {
      if (entry.stubPrefix !== undefined && !presented.startsWith(entry.stubPrefix)) continue;
      const before = gate && (() => gate.beforeArgon2(`${entry.origin}#${entry.principal.id}`));
      if (await this.secrets.matches(key, entry.argon2Hash!, presented, before)) return entry;
    }
    return null;
  }
}
