import { Injectable, Optional } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { maySee } from '../access/policy.js';
import { grants, type Permission } from '../access/permissions.js';
import type { Principal } from '../access/principal.js';
import { canonicalScope } from '../access/scope.js';
import { ApiError, MESSAGES } from '../common/api-error.js';
import { PasswordHasher } from './password-hasher.js';
import { TokenCache } from './token-cache.service.js';
import { TokenCodec } from './token-codec.js';
import { principalOf } from './token-rights.js';
import { type TokenRow, VerificationRepository } from './verification.repository.js';
import { UsageTracker } from './usage-tracker.service.js';
import { StaticCredentials } from './static-credentials.js';
import { VerificationOutcomes } from './verification-outcomes.js';
import { type Admission, AuthThrottle } from './auth-throttle.js';

export type VerdictCode = 'VALID' | 'NOT_FOUND' | 'EXPIRED' | 'REVOKED' | 'DISABLED' | 'USED' | 'FORBIDDEN';

/** The whole answer about a presented token. `principal` is absent for NOT_FOUND. */
export interface Verdict {
  code: VerdictCode;
  principal?: Principal;
}

/** What is asked of the token besides being valid. */
export interface Ask {
  /** It must hold this permission (else FORBIDDEN). */
  permission?: Permission;
  /** It must be allowed on this project (id or name; else FORBIDDEN). */
  project?: string;
  /** Consume a single-use token on a VALID verdict (exactly once, atomically). */
  consume?: boolean;
  /** Who is asking: a token outside this caller's scope is NOT_FOUND (existence does not leak). */
  visibleTo?: Principal;
  now?: Date;
}

/** What identification found, before anything is asked of it. */
interface Identified {
  code: Exclude<VerdictCode, 'FORBIDDEN'>;
  principal?: Principal;
}

/**
 * The one verifier: turns a presented token into a verdict. The guard, `POST /v1/tokens/verify` and
 * the CLI all go through `verify`; no database row leaves it, and single-use consumption is written
 * here only.
 *
 * Garbage is rejected by the checksum without I/O; a well-formed token costs one indexed lookup and
 * (if the lookup id exists) one argon2 verify; a cached positive result costs one HMAC.
 */
@Injectable()
export class TokenVerifier {
  constructor(
    private readonly codec: TokenCodec,
    private readonly hasher: PasswordHasher,
    private readonly tokens: VerificationRepository,
    private readonly statics: StaticCredentials,
    private readonly cache: TokenCache,
    private readonly usage: UsageTracker,
    private readonly audit: AuditService,
    private readonly throttle: AuthThrottle,
    /** Verdict counts for the metrics; absent where nobody reads them (the CLI). */
    @Optional() private readonly outcomes?: VerificationOutcomes,
  ) {}

  async verify(presented: string, ask: Ask = {}): Promise<Verdict> {
    const now = ask.now ?? new Date();
    const found = await this.identify(presented, now);
    const subject = found.principal;
    if (!subject) return { code: 'NOT_FOUND' };
    if (ask.visibleTo && !maySee(ask.visibleTo, subject).allowed) return { code: 'NOT_FOUND' };
    if (found.code !== 'VALID') return { code: found.code, principal: subject };
    if (ask.permission && !grants(subject.permissions, ask.permission))
      return { code: 'FORBIDDEN', principal: subject };
    if (ask.project !== undefined && !(await this.allowedOn(subject, ask.project))) {
      return { code: 'FORBIDDEN', principal: subject };
    }
    if (subject.singleUse && ask.consume && !(await this.tokens.consumeSingleUse(subject.id))) {
      return { code: 'USED', principal: subject };
    }
    if (subject.source === 'database') this.usage.used(subject.id);
    return { code: 'VALID', principal: subject };
  }

  /**
   * For the guard: the caller, or the error it gets. Missing, unknown, revoked, used and disabled
   * tokens are 401; a valid token without the route's permission is 403.
   */
  async authenticate(presented: string | null, permission?: Permission): Promise<Principal> {
    if (!presented) {
      this.outcomes?.record('auth', 'MISSING');
      throw ApiError.unauthenticated();
    }
    const verdict = await this.verify(presented, { permission, consume: true });
    this.outcomes?.record('auth', verdict.code);
    if (verdict.code === 'VALID') return verdict.principal!;
    if (verdict.code === 'FORBIDDEN') throw ApiError.forbidden(MESSAGES.forbidden, { required: permission });
    this.auditFailure(presented, verdict);
    if (verdict.code === 'EXPIRED') throw ApiError.unauthenticated(MESSAGES.expired);
    throw ApiError.unauthenticated();
  }

  /** Which credential this is and its state; cached when valid and reusable. */
  private async identify(presented: string, now: Date): Promise<Identified> {
    const key = this.cache.enabled ? this.cache.keyOf(presented) : null;
    if (key) {
      const hit = this.cache.get(key);
      if (hit && (!hit.expiresAt || hit.expiresAt > now)) return { code: 'VALID', principal: hit };
    }
    const snapshot = this.cache.snapshot();
    // Failed attempts are throttled (429) before any database or argon2 work; misses are remembered.
    const admission = await this.throttle.admit(presented);
    if (admission.knownMiss) return { code: 'NOT_FOUND' };
    return admission.settle(() => this.identifyUncached(presented, key, snapshot, now, admission));
  }

  private async identifyUncached(
    presented: string,
    key: string | null,
    snapshot: number,
    now: Date,
    admission: Admission,
  ): Promise<Identified> {
    const parsed = this.codec.parse(presented);
    if (!parsed) {
      const found = await this.identifyStatic(presented, now, admission);
      if (key && found.code === 'VALID')
        this.cache.set(key, found.principal!, null, found.principal!.expiresAt, snapshot);
      return found;
    }
    let row: TokenRow | null;
    try {
      row = await this.tokens.findByLookupId(parsed.lookupId);
    } catch (err) {
      // Database unreachable: a token confirmed within KEYWARD_AUTH_OUTAGE_GRACE keeps working.
      const stale = key ? this.cache.getDuringOutage(key, err) : undefined;
      if (stale) return { code: 'VALID', principal: stale };
      throw err;
    }
    if (key) this.cache.delete(key); // the database answered: from here only its verdict counts
    if (!row) return { code: 'NOT_FOUND' };
    let validUntil = row.expiresAt;
    await admission.beforeArgon2(parsed.lookupId);
    let matches = await this.hasher.verify(row.secretHash, presented);
    if (!matches && row.previousSecretHash && row.previousExpiresAt && row.previousExpiresAt > now) {
      matches = await this.hasher.verify(row.previousSecretHash, presented);
      if (matches && (!validUntil || row.previousExpiresAt < validUntil)) validUntil = row.previousExpiresAt;
    }
    if (!matches) return { code: 'NOT_FOUND' };
    const subject = principalOf(row);
    if (row.revokedAt) return { code: 'REVOKED', principal: subject };
    if (row.usedAt) return { code: 'USED', principal: subject };
    if (row.expiresAt && row.expiresAt <= now) return { code: 'EXPIRED', principal: subject };
    if (!row.enabled) return { code: 'DISABLED', principal: subject };
    // Single-use tokens are never cached: each use must reach the atomic consumption.
    if (key && !row.removeOnUse) this.cache.set(key, subject, row.id, validUntil, snapshot);
    return { code: 'VALID', principal: subject };
  }

  private async identifyStatic(presented: string, now: Date, admission: Admission): Promise<Identified> {
    const entry = await this.statics.match(presented, admission);
    if (!entry) return { code: 'NOT_FOUND' };
    const subject = await this.resolveScope(entry.principal, entry.projectRefs);
    if (!entry.enabled) return { code: 'DISABLED', principal: subject };
    if (subject.expiresAt && subject.expiresAt <= now) return { code: 'EXPIRED', principal: subject };
    return { code: 'VALID', principal: subject };
  }

  /**
   * Tokens files confine tokens by project name or id; the principal gets the canonical ids of the
   * projects that exist under those references (none if none exists: never "every project").
   */
  private async resolveScope(subject: Principal, refs: readonly string[] | null): Promise<Principal> {
    if (refs === null) return subject;
    const ids = (await this.tokens.resolveProjectIds(refs)).filter((id): id is string => id !== null);
    return { ...subject, projects: canonicalScope(ids) };
  }

  /** Counts a failed authentication for the audit trail: the credential's id or lookup id, never the token. */
  private auditFailure(presented: string, verdict: Verdict): void {
    const p = verdict.principal;
    this.audit.failedAuthentication({
      code: verdict.code,
      credentialId: p?.id ?? null,
      lookupId: p ? null : (this.codec.parse(presented)?.lookupId ?? null),
      projectId: p?.projects?.length === 1 ? p.projects[0] : null,
    });
  }

  /** Is the token allowed on this project (id or name, resolved like tokens-file confinement)? */
  private async allowedOn(subject: Principal, project: string): Promise<boolean> {
    if (subject.projects === null) return true;
    const [id] = await this.tokens.resolveProjectIds([project]);
    return id !== null && subject.projects.includes(id);
  }
}
