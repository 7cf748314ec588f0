import { ALL_SCOPES } from '../access/app-scopes.js';
import { Injectable } from '@nestjs/common';
import { type UsageReport, UsageLimits, usageHeaders, usageRefusal } from './usage-limits.js';
import { AuditService } from '../audit/audit.service.js';
import { maySee, reachesProject, verifyAllows } from '../access/policy.js';
import { type Permission, WRITE_PERMISSIONS } from '../access/permissions.js';
import type { Principal } from '../access/principal.js';
import { canonicalScope } from '../access/scope.js';
import { ApiError, MESSAGES } from '../common/errors/api-error.js';
import { isUuid } from '../common/uuid.js';
import type { RateLimitStateDto, VerifiedTokenDto, VerifyResultDto } from './dto/verify.dto.js';
import { TokenCache, type FillSnapshot } from './token-cache.service.js';
import { TokenCodec } from './token-codec.js';
import { effectiveState, type RootRights } from './token-rights.js';
import { UsageTracker } from './usage-tracker.service.js';
import { SecretMatches } from './secret-matches.js';
import { StaticCredentials } from './static-credentials.js';
import { type EntryPoint, VerificationOutcomes } from './verification-outcomes.js';
import { type TokenWithAncestors, VerificationRepository } from './verification.repository.js';
import { type Admission, AuthThrottle } from './auth-throttle.js';

/** The admin and the CLI bound nothing below them. */
const UNBOUNDED: RootRights = {
  permissions: WRITE_PERMISSIONS,
  projects: null,
  scopes: ALL_SCOPES,
  enabled: true,
  expiresAt: null,
};

export type VerdictCode =
  'VALID' | 'NOT_FOUND' | 'EXPIRED' | 'REVOKED' | 'DISABLED' | 'USED' | 'FORBIDDEN' | 'RATE_LIMITED' | 'USAGE_EXCEEDED';

/** One presented credential and what is asked of it, from any entry point. */
export interface VerificationRequest {
  /** The presented value; null when the request presents none. */
  credential: string | null;
  /** Where the check comes from: selects the audit, the metrics label and the error's details. */
  via: EntryPoint;
  /** The client's address, for the per-address throttle (absent: throttled per credential only). */
  clientAddress?: string;
  /** It must hold this permission (else FORBIDDEN). */
  permission?: Permission;
  /** It must be allowed on this project (id or name; else FORBIDDEN). */
  project?: string;
  /** Application scopes it must hold, all of them (else FORBIDDEN). */
  scopes?: readonly string[];
  /** Consume a single-use token on a VALID verdict (exactly once, atomically, in the database). */
  consume?: boolean;
  /** Who is asking about the credential: a token outside this caller's scope is NOT_FOUND. */
  visibleTo?: Principal;
  now?: Date;
}

/** The verdict on a request, with what an HTTP entry point answers. */
export interface Verification {
  /** `MISSING`: no credential was presented. */
  code: VerdictCode | 'MISSING';
  /** The credential's identity; absent for NOT_FOUND and MISSING. */
  principal?: Principal;
  /** For entry points that gate on the credential: the error to answer (401/403), null when it passes. */
  error: ApiError | null;
  /** Identity headers for a passing credential (forward auth), empty otherwise. */
  headers: Readonly<Record<string, string>>;
  /** The token's rate limit and usage credits after this check (tokens with limits only). */
  usage?: UsageReport;
}

/** The verdict on a credential and what was asked of it, before it becomes an answer. */
interface Verdict {
  code: VerdictCode;
  principal?: Principal;
  usage?: UsageReport;
}

/** Visibility goes by where the token lives, not by what its ancestors left it. */
function homeOf(subject: Principal): Pick<Principal, 'projects'> {
  return { projects: subject.home === undefined ? subject.projects : subject.home };
}

/** What identification found, before anything is asked of it. */
interface Identified {
  code: Exclude<VerdictCode, 'FORBIDDEN' | 'RATE_LIMITED' | 'USAGE_EXCEEDED'>;
  principal?: Principal;
}

/** Also read by bench/ (from dist/, which knip does not follow). @public */
export const TOKEN_ID_HEADER = 'x-keyward-token-id';
const PERMISSIONS_HEADER = 'x-keyward-permissions';
const PROJECTS_HEADER = 'x-keyward-projects';
const SCOPES_HEADER = 'x-keyward-scopes';

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});
const NO_FLAGS = { allow_overwrite: false, allow_delete: false, existing_projects_only: false };

/**
 * The identity headers of a principal. Cached principals are the same object on every hit, so the
 * joined strings are built once per cached token, not per request.
 */
const identityHeaders = new WeakMap<Principal, Record<string, string>>();
function identityOf(principal: Principal): Record<string, string> {
  let headers = identityHeaders.get(principal);
  if (!headers) {
    headers = {
      [TOKEN_ID_HEADER]: principal.id,
      [PERMISSIONS_HEADER]: principal.permissions.join(','),
      [PROJECTS_HEADER]: principal.projects === null ? '*' : principal.projects.join(','),
      [SCOPES_HEADER]: principal.scopes.join(','),
    };
    identityHeaders.set(principal, headers);
  }
  return headers;
}

/** The verify API's answer (and `keyward token verify --json`'s) for a verification. */
export function verifyResult(v: Pick<Verification, 'code' | 'principal' | 'usage'>): VerifyResultDto {
  const p = v.principal;
  if (!p || v.code === 'MISSING') return { valid: false, code: 'NOT_FOUND' };
  const result: VerifyResultDto = { valid: v.code === 'VALID', code: v.code, token: verifiedToken(p) };
  const usage = v.usage;
  if (usage?.ratelimit) result.ratelimit = ratelimitView(usage.ratelimit);
  if (usage?.remaining !== undefined) result.remaining = usage.remaining;
  return result;
}

function ratelimitView(window: NonNullable<UsageReport['ratelimit']>): RateLimitStateDto {
  return { ...window, reset: window.reset.toISOString() };
}

function verifiedToken(p: Principal): VerifiedTokenDto {
  return {
    id: p.id,
    name: p.name,
    access: p.access,
    permissions: p.permissions,
    projects: p.projects === null ? null : [...p.projects],
    flags: p.flags ?? NO_FLAGS,
    expiresAt: p.expiresAt ? p.expiresAt.toISOString() : null,
    scopes: [...p.scopes],
    owner: p.owner ?? null,
    meta: p.meta ?? null,
  };
}

/**
 * The token part of verify answers as JSON, per principal: cached principals are the same object on
 * every hit, so a token verified again and again is serialized once per cache fill.
 */
const verifiedTokenJson = new WeakMap<Principal, string>();

/**
 * `verifyResult(v)` as JSON text, exactly what `JSON.stringify(verifyResult(v))` writes (the unit spec
 * holds it to that), with the token part serialized once per principal: the verify API's hot path.
 */
export function verifyResultJson(v: Pick<Verification, 'code' | 'principal' | 'usage'>): string {
  const p = v.principal;
  if (!p || v.code === 'MISSING') return JSON.stringify(verifyResult(v));
  let token = verifiedTokenJson.get(p);
  if (token === undefined) verifiedTokenJson.set(p, (token = JSON.stringify(verifiedToken(p))));
  let text = `{"valid":${v.code === 'VALID'},"code":${JSON.stringify(v.code)},"token":${token}`;
  const usage = v.usage;
  if (usage?.ratelimit) text += `,"ratelimit":${JSON.stringify(ratelimitView(usage.ratelimit))}`;
  if (usage?.remaining !== undefined) text += `,"remaining":${JSON.stringify(usage.remaining)}`;
  return `${text}}`;
}

/**
 * The verification engine's one function: `check` turns a presented credential into a verdict for the
 * guard, `POST /v1/tokens/verify`, `GET|HEAD /v1/auth/check` and the CLI, with every side effect done
 * here, once: the throttle (per client address and per credential; 429 before any database or argon2
 * work, authorization failures charged like authentication failures), single-use consumption (atomic,
 * in the database), the audit of failed authentications, the verdict counts, and the HTTP error and
 * headers the verdict maps to. No database row leaves it.
 *
 * Garbage is rejected by the checksum without I/O; a well-formed token costs one indexed lookup and at
 * most one argon2 verification per presented value and cache window (SecretMatches), whatever the
 * verdict; a cached positive result costs one keyed digest.
 */
@Injectable()
export class TokenVerifier {
  constructor(
    private readonly codec: TokenCodec,
    private readonly secrets: SecretMatches,
    private readonly tokens: VerificationRepository,
    private readonly statics: StaticCredentials,
    private readonly cache: TokenCache,
    private readonly usage: UsageTracker,
    private readonly audit: AuditService,
    private readonly throttle: AuthThrottle,
    private readonly outcomes: VerificationOutcomes,
    private readonly limits: UsageLimits,
  ) {}

  /**
   * The verdict, with its side effects done. Answers without an await (a value, or a synchronous throw)
   * when nothing needs I/O: a cached token asked nothing that needs the database, or a client address
   * refused a moment ago (its 429). Otherwise a promise. Callers `await` it either way.
   */
  check(request: VerificationRequest): Verification | Promise<Verification> {
    const { credential } = request;
    if (!credential) {
      this.outcomes.record(request.via, 'MISSING');
      return { code: 'MISSING', error: ApiError.unauthenticated(), headers: NO_HEADERS };
    }
    const now = request.now ?? new Date();
    const key = this.cache.keyOf(credential);
    const hit = this.cache.enabled ? this.cachedValid(key, now) : undefined;
    if (hit) {
      const decided = this.decide({ code: 'VALID', principal: hit }, request);
      return decided instanceof Promise ? decided.then((v) => this.answer(request, v)) : this.answer(request, decided);
    }
    // An address past its limit is refused before anything else (the throttle's 429, thrown).
    const refusal = this.throttle.refusalNow(key, request.clientAddress);
    if (refusal) throw refusal;
    return this.identify(credential, key, request, now)
      .then((found) => this.decide(found, request))
      .then((v) => this.answer(request, v));
  }

  /**
   * The 429 `check` answers first, before anything else, for this credential from this client address:
   * the address was refused a moment ago and the value has not proven itself (no valid cached answer, no
   * recent success); null otherwise. Costs a map lookup unless the address is refused. The throttle gate
   * asks it before a route does any work.
   */
  refusalNow(credential: string, clientAddress: string | undefined): ApiError | null {
    if (!this.throttle.refuses(clientAddress)) return null;
    const key = this.cache.keyOf(credential);
    if (this.cache.enabled && this.cachedValid(key, new Date(), false)) return null;
    return this.throttle.refusalNow(key, clientAddress);
  }

  /** The verdict as an entry point answers it: the error (401/403/429) and the headers. */
  private answer(request: VerificationRequest, found: Verdict): Verification {
    const { credential, via } = request;
    const { code, principal, usage } = found;
    this.outcomes.record(via, code);
    if (code === 'VALID') {
      const identity = identityOf(principal!);
      if (!usage) return { code, principal, error: null, headers: identity };
      return { code, principal, error: null, headers: { ...identity, ...usageHeaders(usage) }, usage };
    }
    let error: ApiError;
    if (code === 'RATE_LIMITED' || code === 'USAGE_EXCEEDED') {
      return { code, principal, error: usageRefusal({ code, usage }), headers: usageHeaders(usage!), usage };
    } else if (code === 'FORBIDDEN') {
      error =
        via === 'auth'
          ? ApiError.forbidden(MESSAGES.forbidden, { required: request.permission })
          : ApiError.forbidden();
    } else {
      if (via === 'auth' || via === 'forward_auth') this.auditFailure(credential!, code, principal);
      error = ApiError.unauthenticated(code === 'EXPIRED' ? MESSAGES.expired : MESSAGES.unauthenticated);
    }
    return { code, principal, error, headers: NO_HEADERS };
  }

  /**
   * What is asked of an identified credential: its visibility to the caller, then, for a valid one, its
   * rights. Without an await when nothing is asked that needs I/O (a project, usage limits, single-use
   * consumption) and the rights allow it; `decideWithIo` answers the rest.
   */
  private decide(found: Identified, ask: VerificationRequest): Verdict | Promise<Verdict> {
    const subject = found.principal;
    if (!subject) return { code: 'NOT_FOUND' };
    if (ask.visibleTo && !maySee(ask.visibleTo, homeOf(subject)).allowed) return { code: 'NOT_FOUND' };
    if (found.code !== 'VALID') return { code: found.code, principal: subject };
    const inMemory = ask.project === undefined && !subject.limits && !(subject.singleUse && ask.consume);
    if (!inMemory || !verifyAllows(subject, ask)) return this.decideWithIo(subject, ask);
    if (subject.source === 'database') this.usage.used(subject.id);
    return { code: 'VALID', principal: subject };
  }

  private async decideWithIo(subject: Principal, ask: VerificationRequest): Promise<Verdict> {
    const allowed =
      verifyAllows(subject, ask) && (ask.project === undefined || (await this.reaches(subject, ask.project)));
    if (!allowed) {
      // An authorization failure costs a point like an authentication failure (429 past the limit).
      await this.throttle.chargeForbidden(ask.clientAddress, subject.id);
      return { code: 'FORBIDDEN', principal: subject };
    }
    // Usage limits (rate limit, credits) only for tokens that have them: nothing to do for the others.
    const usage = subject.limits ? await this.limits.apply(subject, ask.consume ?? false) : undefined;
    if (usage?.refused) return { code: usage.refused, principal: subject, usage };
    if (subject.singleUse && ask.consume && !(await this.tokens.consumeSingleUse(subject.id))) {
      return { code: 'USED', principal: subject };
    }
    if (subject.source === 'database') this.usage.used(subject.id);
    return usage ? { code: 'VALID', principal: subject, usage } : { code: 'VALID', principal: subject };
  }

  /**
   * A cached positive result for this key that has not expired since it was stored; `counted: false`
   * looks without counting a hit or a miss (the throttle gate's look ahead of `check`).
   */
  private cachedValid(key: string, now: Date, counted = true): Principal | undefined {
    const hit = counted ? this.cache.get(key) : this.cache.peek(key);
    return hit && (!hit.expiresAt || hit.expiresAt > now) ? hit : undefined;
  }

  /**
   * Which credential this is and its state, once the cache had no valid answer (`key`: the cache's key
   * of the presented value, also the throttle's); cached when valid and reusable.
   */
  private async identify(presented: string, key: string, ask: VerificationRequest, now: Date): Promise<Identified> {
    const snapshot = this.cache.snapshot();
    // Failed attempts are throttled (429) before any database or argon2 work; misses are remembered.
    const admission = await this.throttle.admit(key, ask.clientAddress);
    if (admission.knownMiss) return { code: 'NOT_FOUND' };
    return admission.settle(() => this.identifyUncached(presented, key, snapshot, now, admission));
  }

  private async identifyUncached(
    presented: string,
    key: string,
    snapshot: FillSnapshot,
    now: Date,
    admission: Admission,
  ): Promise<Identified> {
    const parsed = this.codec.parse(presented);
    if (!parsed) {
      const found = await this.identifyStatic(presented, now, admission);
      if (found.code === 'VALID') this.cache.set(key, found.principal!, [], found.principal!.expiresAt, snapshot);
      return found;
    }
    let found: TokenWithAncestors | null;
    try {
      found = await this.tokens.findWithAncestors(parsed.lookupId);
    } catch (err) {
      // Database unreachable: a token confirmed within KEYWARD_AUTH_OUTAGE_GRACE keeps working.
      const stale = this.cache.enabled ? this.cache.getDuringOutage(key, err) : undefined;
      if (stale) return { code: 'VALID', principal: stale };
      throw err;
    }
    this.cache.delete(key); // the database answered: from here only its verdict counts
    if (!found) return { code: 'NOT_FOUND' };
    const { row } = found;
    let graceUntil: Date | null = null;
    const gate = () => admission.beforeArgon2(parsed.lookupId);
    let matches = await this.secrets.matches(key, row.secretHash, presented, gate);
    if (!matches && row.previousSecretHash && row.previousExpiresAt && row.previousExpiresAt > now) {
      matches = await this.secrets.matches(key, row.previousSecretHash, presented, gate);
      if (matches) graceUntil = row.previousExpiresAt;
    }
    if (!matches) return { code: 'NOT_FOUND' };
    const state = effectiveState(row, found.ancestors, await this.rootsOf(found), now);
    let subject = state.principal;
    if (graceUntil) {
      // The previous secret in its rotation grace: a shadow of the token that ends with the grace.
      const expiresAt = subject.expiresAt && subject.expiresAt < graceUntil ? subject.expiresAt : graceUntil;
      subject = { ...subject, expiresAt, graceUntil };
    }
    if (state.code !== 'VALID') return { code: state.code, principal: subject };
    // Single-use verdicts are never cached: each use must reach the atomic consumption (their
    // identification is, in SecretMatches).
    if (!row.removeOnUse) this.cache.set(key, subject, state.ids, subject.expiresAt, snapshot);
    return { code: 'VALID', principal: subject };
  }

  /**
   * The current rights of the configured credential at the root of a token's tree: a tokens-file entry
   * as it is now (null once removed), the admin and the CLI unbounded.
   */
  private async rootsOf(found: TokenWithAncestors): Promise<(id: string) => RootRights | null> {
    const top = found.ancestors.length ? found.ancestors[found.ancestors.length - 1] : found.row;
    const rootId = top.createdById;
    if (!rootId?.startsWith('file:')) return () => UNBOUNDED;
    const entry = this.statics.entries().find((e) => e.principal.id === rootId);
    if (!entry) return () => null;
    const resolved = await this.resolveScope(entry.principal, entry.projectRefs);
    const rights: RootRights = {
      permissions: resolved.permissions,
      projects: resolved.projects,
      scopes: resolved.scopes,
      enabled: entry.enabled,
      expiresAt: resolved.expiresAt,
    };
    return (id) => (id === rootId ? rights : UNBOUNDED);
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
   * Tokens files confine tokens by project name (or id). A listed id is that project; a listed name
   * reaches the project created under it as long as it was never renamed (a rename never hands a
   * tokens-file token a project). The names themselves are kept for verify and forward auth, which
   * answer for a listed name whether or not a project bears it.
   */
  private async resolveScope(subject: Principal, refs: readonly string[] | null): Promise<Principal> {
    if (refs === null) return subject;
    const idRefs = refs.filter((r) => isUuid(r.trim()));
    const names = refs.filter((r) => !isUuid(r.trim()));
    const [byId, byName] = await Promise.all([
      this.tokens.resolveProjectIds(idRefs),
      this.tokens.projectsCreatedAs(names),
    ]);
    const ids = [...byId.filter((id): id is string => id !== null), ...byName];
    return { ...subject, projects: canonicalScope(ids), projectNames: names };
  }

  /** Counts a failed authentication for the audit trail: the credential's id or lookup id, never the token. */
  private auditFailure(presented: string, code: VerdictCode, p: Principal | undefined): void {
    this.audit.failedAuthentication({
      code,
      credentialId: p?.id ?? null,
      lookupId: p ? null : (this.codec.parse(presented)?.lookupId ?? null),
      projectId: p?.projects?.length === 1 ? p.projects[0] : null,
    });
  }

  /** Is the token allowed on this project (an id or a name)? The policy decides; the names are looked up here. */
  private reaches(subject: Principal, project: string): Promise<boolean> {
    return reachesProject(subject, project, async (p) => (await this.tokens.resolveProjectIds([p]))[0]);
  }
}
