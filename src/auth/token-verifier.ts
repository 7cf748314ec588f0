import { Injectable } from '@nestjs/common';
import { ApiError, MESSAGES } from '../common/api-error.js';
import { PasswordHasher } from '../tokens/password-hasher.js';
import { TokenCache } from '../tokens/token-cache.service.js';
import { TokenCodec } from '../tokens/token-codec.js';
import { type TokenRow, TokensRepository } from '../tokens/tokens.repository.js';
import { UsageTracker } from '../tokens/usage-tracker.service.js';
import { permissionsForAccess, accessOf } from '../access/permissions.js';
import type { Principal } from '../access/principal.js';
import { StaticCredentials } from './static-credentials.js';
import { type Admission, AuthThrottle } from './auth-throttle.js';
import { isUuid } from '../common/uuid.js';

export type VerdictCode = 'VALID' | 'NOT_FOUND' | 'EXPIRED' | 'REVOKED' | 'DISABLED' | 'USED';

export type Verdict =
  | { code: 'VALID'; principal: Principal; row?: TokenRow }
  | { code: Exclude<VerdictCode, 'VALID'>; principal?: Principal };

export function principalOf(row: TokenRow): Principal {
  const permissions = row.permissions.length ? row.permissions : permissionsForAccess(row.access);
  const isProject = row.kind === 'project';
  return {
    source: 'database',
    id: row.id,
    name: row.name ?? row.description ?? null,
    kind: row.kind,
    access: isProject ? accessOf(permissions) : row.access,
    permissions,
    projects: isProject ? [row.projectId!] : row.scopeProjects.length ? row.scopeProjects : null,
    expiresAt: row.expiresAt,
  };
}

/** Turns a presented token into a Principal, or says precisely why not. */
@Injectable()
export class TokenVerifier {
  constructor(
    private readonly codec: TokenCodec,
    private readonly hasher: PasswordHasher,
    private readonly tokens: TokensRepository,
    private readonly statics: StaticCredentials,
    private readonly cache: TokenCache,
    private readonly usage: UsageTracker,
    private readonly throttle: AuthThrottle,
  ) {}

  /**
   * Garbage is rejected by the checksum without I/O; a well-formed token costs one indexed lookup and
   * (if the lookup id exists) one argon2 verify. Single-use tokens are consumed atomically when
   * `consume` is set: exactly one concurrent caller wins.
   */
  async inspect(presented: string, { consume = true, now = new Date() } = {}): Promise<Verdict> {
    const key = this.cache.enabled ? this.cache.keyOf(presented) : null;
    if (key) {
      const hit = this.cache.get(key);
      if (hit && (!hit.expiresAt || hit.expiresAt > now)) {
        if (hit.source === 'database') this.usage.used(hit.id);
        return { code: 'VALID', principal: hit };
      }
    }
    const snapshot = this.cache.snapshot();
    // Failed attempts are throttled (429) before any database or argon2 work; misses are remembered.
    const admission = await this.throttle.admit(presented);
    if (admission.knownMiss) return { code: 'NOT_FOUND' };
    return admission.settle(() => this.inspectUncached(presented, key, snapshot, admission, consume, now));
  }

  private async inspectUncached(
    presented: string,
    key: string | null,
    snapshot: number,
    admission: Admission,
    consume: boolean,
    now: Date,
  ): Promise<Verdict> {
    const parsed = this.codec.parse(presented);
    if (!parsed) {
      const verdict = await this.inspectStatic(presented, now, admission);
      if (key && verdict.code === 'VALID')
        this.cache.set(key, verdict.principal, null, verdict.principal.expiresAt, snapshot);
      return verdict;
    }
    const row = await this.tokens.findByLookupId(parsed.lookupId);
    if (!row) return { code: 'NOT_FOUND' };
    let validUntil = row.expiresAt;
    await admission.beforeArgon2(parsed.lookupId);
    let matches = await this.hasher.verify(row.secretHash, presented);
    if (!matches && row.previousSecretHash && row.previousExpiresAt && row.previousExpiresAt > now) {
      matches = await this.hasher.verify(row.previousSecretHash, presented);
      if (matches && (!validUntil || row.previousExpiresAt < validUntil)) validUntil = row.previousExpiresAt;
    }
    if (!matches) return { code: 'NOT_FOUND' };
    const principal = principalOf(row);
    if (row.revokedAt) return { code: 'REVOKED', principal };
    if (row.usedAt) return { code: 'USED', principal };
    if (row.expiresAt && row.expiresAt <= now) return { code: 'EXPIRED', principal };
    if (row.removeOnUse) {
      // Single-use tokens are never cached; consumption is one atomic UPDATE.
      if (consume && !(await this.tokens.consumeSingleUse(row.id))) return { code: 'USED', principal };
    } else if (key) {
      this.cache.set(key, principal, row.id, validUntil, snapshot);
    }
    this.usage.used(row.id);
    return { code: 'VALID', principal, row };
  }

  private async inspectStatic(presented: string, now: Date, admission: Admission): Promise<Verdict> {
    const entry = await this.statics.match(presented, admission);
    if (!entry) return { code: 'NOT_FOUND' };
    if (!entry.enabled) return { code: 'DISABLED', principal: entry.principal };
    if (entry.principal.expiresAt && entry.principal.expiresAt <= now) {
      return { code: 'EXPIRED', principal: entry.principal };
    }
    return { code: 'VALID', principal: await this.withProjectIds(entry.principal) };
  }

  /**
   * Tokens files confine tokens by project *name* (seed 000); routes and rows use ids. The principal
   * gets both: the names as written, plus the ids of the projects that exist under those names.
   */
  private async withProjectIds(principal: Principal): Promise<Principal> {
    const names = principal.projects?.filter((p) => !isUuid(p));
    if (!names?.length) return principal;
    const ids = (await this.tokens.resolveProjectIds(names)).filter((id): id is string => id !== null);
    return ids.length ? { ...principal, projects: [...principal.projects!, ...ids] } : principal;
  }

  /** For the guard: a Principal, or the 401 the caller should get. */
  async authenticate(presented: string | null): Promise<Principal> {
    if (!presented) throw ApiError.unauthenticated();
    const verdict = await this.inspect(presented);
    if (verdict.code === 'VALID') return verdict.principal;
    if (verdict.code === 'EXPIRED') throw ApiError.unauthenticated(MESSAGES.expired);
    throw ApiError.unauthenticated();
  }
}
