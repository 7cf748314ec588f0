import { Injectable } from '@nestjs/common';
import { normalizeScopes } from '../access/app-scopes.js';
import { enforce, grantWithin, mayChange, mayManageToken, mayRevoke, maySee } from '../access/policy.js';
import { accessOf, type Permission } from '../access/permissions.js';
import type { Principal } from '../access/principal.js';
import { canonicalProjectId, type Scope } from '../access/scope.js';
import { type AuditDetails, AuditService, tokenTarget } from '../audit/audit.service.js';
import { ApiError } from '../common/errors/api-error.js';
import { isUniqueViolation } from '../common/errors/prisma-errors.js';
import { validationFailed } from '../common/errors/validation.js';
import type { KeysetPosition } from '../common/http/keyset-cursor.js';
import { parseDuration } from '../common/time.js';
import { ProjectsService } from '../projects/projects.service.js';
import { rightsOf } from '../verification/token-rights.js';
import { type AppFieldsData, appFieldsData, auditedAppFields } from './app-fields.js';
import type { AppFieldsDto } from './http/app-fields.dto.js';
import type { RotatedTokenResponseDto } from './http/publisher/rotate.dto.js';
import type { OwnerActionResultDto } from './http/rest/owner.dto.js';
import type { RevokedTreeDto } from './http/rest/token-tree.dto.js';
import { TokenIssuer } from './token-issuer.js';
import { iso, tokenStatus } from './token-views.js';
import { type TokenRow, TokensRepository } from './tokens.repository.js';

const MAX_GRACE_MS = 30 * 86_400_000;
const ENTRY_NAME_MAX = 200;

/** `grace` absent or null: none. */
export function parseGrace(grace: string | null | undefined): number {
  if (grace === undefined || grace === null) return 0;
  const value = parseDuration(grace);
  if (value === null || value > MAX_GRACE_MS) {
    throw validationFailed({ grace: ['grace must be between 0s and 30d'] });
  }
  return value;
}

/**
 * What a caller asks for when it creates a token, whatever the API style: each style maps its body
 * onto this (its own parsing and error messages for expiry, permissions and projects stay with it).
 */
export interface CreateTokenRequest {
  /** A project token's scope is its one project; a global token's is `projects`. */
  kind: 'global' | 'project';
  permissions: readonly Permission[];
  projects: Scope;
  /** As requested; capped at the caller's own expiry. */
  expiresAt: Date | null;
  singleUse: boolean;
  name?: string | null;
  description?: string | null;
  /** The application fields of the body (scopes, meta, owner, rate limit, credits, refill). */
  app: AppFieldsDto;
  /** The style's details of the `token.create` audit entry (the application fields are added to them). */
  auditDetails: (row: TokenRow) => AuditDetails;
}

/** A created token: its row, and its secret (returned once, never stored in clear nor logged). */
export interface CreatedToken {
  row: TokenRow;
  token: string;
}

/**
 * What an update asks for, whatever the API style (each maps its body onto this): an absent field
 * stays as it is.
 */
export interface TokenChange {
  name?: string;
  /** Replaces the permissions (in their stored form: each style maps its own notation first). */
  permissions?: readonly Permission[];
  enabled?: boolean;
  /** The application fields of the body (scopes, meta, owner, rate limit, credits, refill); absent ones stay. */
  app?: AppFieldsDto;
  /**
   * A switch (Publisher-style enable and disable) rather than a patch: `enabled` is written and audited
   * even when the token already is so, and disabling needs only what revoking needs (rule 3: it takes
   * rights away). A patch writes and audits only what differs, and every change of it is rule 4.
   */
  switch?: boolean;
}

/** The columns an update sets. */
type TokenUpdate = {
  name?: string;
  permissions?: Permission[];
  access?: 'read' | 'write';
  enabled?: boolean;
} & AppFieldsData;

/** A project token's name is unique in its project. */
const nameTaken = (name: string) => ApiError.conflict('A token with this name already exists in the project', { name });

/**
 * The answer for a token revoked before (or while) it is updated: a revoked project token is deleted,
 * so not found; a revoked global token is still listed, so the update conflicts with its state.
 */
const revokedAnswer = (row: TokenRow) =>
  row.kind === 'project' ? ApiError.notFound('Token not found') : ApiError.conflict('Token is revoked', { id: row.id });

/**
 * Token management rules shared by every API style: create, update (rename, re-permission, enable and
 * disable), revoke, rotate, a project's tokens, and the bulk actions (an owner's tokens, a tokens-file
 * entry's trees). The styles map onto these.
 */
@Injectable()
export class TokensService {
  constructor(
    private readonly repo: TokensRepository,
    private readonly issuer: TokenIssuer,
    private readonly audit: AuditService,
    private readonly projects: ProjectsService,
  ) {}

  /**
   * The one place a token is created: the policy grants the request only inside the caller's rights
   * (permissions, projects, single use, application scopes) and caps its expiry at the caller's; the
   * token is stored, then audited (which tells the audit observers, the webhooks among them).
   */
  async create(caller: Principal, request: CreateTokenRequest): Promise<CreatedToken> {
    const { decision, rights } = grantWithin(caller, {
      permissions: request.permissions,
      projects: request.projects,
      expiresAt: request.expiresAt,
      singleUse: request.singleUse,
      scopes: normalizeScopes(request.app.scopes ?? []),
    });
    enforce(decision);
    const { row, token } = await this.issue(caller, rights, request);
    await this.audit.record({
      action: 'token.create',
      actor: caller,
      target: tokenTarget(row),
      details: { ...request.auditDetails(row), ...auditedAppFields(row) },
    });
    return { row, token };
  }

  /** Stores the token; a name already taken in its project is a conflict (409), not a 500. */
  private async issue(
    caller: Principal,
    rights: ReturnType<typeof grantWithin>['rights'],
    request: CreateTokenRequest,
  ) {
    try {
      return await this.issuer.issue(caller, rights, {
        kind: request.kind,
        name: request.name,
        description: request.description,
        app: appFieldsData(request.app),
      });
    } catch (e) {
      if (isUniqueViolation(e) && request.name) throw nameTaken(request.name);
      throw e;
    }
  }

  /**
   * A token of one project: the project must exist inside the caller's scope (404 otherwise, before the
   * request is even built, so whatever else is wrong with it), then as `create`.
   */
  async createInProject(
    caller: Principal,
    projectId: string,
    request: () => Omit<CreateTokenRequest, 'kind' | 'projects'>,
  ): Promise<CreatedToken> {
    const project = await this.projects.require(caller, projectId);
    return this.create(caller, { ...request(), kind: 'project', projects: [canonicalProjectId(project.id)] });
  }

  /**
   * The one place a token is updated, whatever the API style (`row` found by the style, in the
   * caller's scope): the policy allows it only on a token the caller may change, into rights inside
   * its own (rule 4; a switch off is rule 3), never by a secret in its grace (rule 7); then it is
   * written and audited (`token.update` with what changed, `token.enable` / `token.disable`). Returns
   * the row after the update.
   */
  async update(caller: Principal, row: TokenRow, change: TokenChange): Promise<TokenRow> {
    const data: TokenUpdate = change.app ? appFieldsData(change.app, new Date(), row) : {};
    const current = rightsOf(row);
    const next = { ...current };
    if (change.permissions !== undefined) next.permissions = [...change.permissions];
    if (data.scopes !== undefined) next.scopes = data.scopes as string[];
    enforce(change.switch && change.enabled === false ? mayRevoke(caller, current) : mayChange(caller, current, next));
    enforce(mayManageToken(caller, row.id));
    if (row.revokedAt) throw revokedAnswer(row);
    if (change.permissions !== undefined) {
      data.permissions = [...next.permissions] as Permission[];
      data.access = accessOf(next.permissions);
    }
    if (change.enabled !== undefined && (change.switch || change.enabled !== row.enabled))
      data.enabled = change.enabled;
    if (change.name !== undefined) data.name = change.name;
    if (!Object.keys(data).length) return row;
    const after = await this.write(row, data, change.name);
    await this.auditUpdate(caller, row, data);
    return after;
  }

  /** Writes an update of a live token; a name taken in the project is a conflict. */
  private async write(row: TokenRow, data: TokenUpdate, name: string | undefined): Promise<TokenRow> {
    let after: TokenRow | null;
    try {
      after = await this.repo.updateLive(row.id, row.kind, data);
    } catch (e) {
      if (isUniqueViolation(e) && name !== undefined) throw nameTaken(name);
      throw e;
    }
    if (!after) throw revokedAnswer(row);
    return after;
  }

  /** `token.update` with what changed besides `enabled`, then `token.enable` or `token.disable`. */
  private async auditUpdate(caller: Principal, row: TokenRow, data: TokenUpdate): Promise<void> {
    const { enabled, ...changed } = data;
    if (Object.keys(changed).length) {
      const details: AuditDetails = { changed: Object.keys(changed) };
      if (changed.name !== undefined) details.name = changed.name;
      if (changed.permissions !== undefined) details.permissions = changed.permissions;
      if (changed.scopes !== undefined) details.scopes = changed.scopes as string[];
      if (changed.owner !== undefined) details.owner = changed.owner;
      await this.audit.record({ action: 'token.update', actor: caller, target: tokenTarget(row), details });
    }
    if (enabled !== undefined) {
      await this.audit.record({
        action: enabled ? 'token.enable' : 'token.disable',
        actor: caller,
        target: tokenTarget(row),
      });
    }
  }

  /**
   * A live (or, with `revoked`, any) project token the caller sees (its project inside the caller's
   * scope, and `projectId` when given); 404 otherwise.
   */
  async findProjectToken(
    caller: Principal,
    tokenId: string,
    projectId?: string,
    opts: { revoked?: boolean } = {},
  ): Promise<TokenRow> {
    const row = await this.repo.findProjectToken(caller.projects, tokenId, projectId, opts);
    if (!row) throw ApiError.notFound('Token not found');
    enforce(maySee(caller, rightsOf(row)));
    return row;
  }

  /**
   * A project's live tokens, newest first, after `before` when given (at most `take`; `name` matches
   * exactly). One statement: the project's existence (404 when it is missing or outside the caller's
   * scope) and the page together.
   */
  async listProjectTokens(
    caller: Principal,
    projectId: string,
    page: { take: number; name?: string; before?: KeysetPosition },
  ): Promise<TokenRow[]> {
    const found = await this.repo.listProjectTokens(caller.projects, projectId, page);
    if (!found) throw ApiError.notFound('Project not found');
    return found;
  }

  /**
   * Revokes `row` (found by the style, in the caller's scope) and every token created through it, if the
   * caller may revoke it; audited as `action`. Returns the ids revoked (the token itself included).
   */
  async revoke(caller: Principal, row: TokenRow, action: 'token.revoke' | 'token.delete'): Promise<string[]> {
    enforce(mayRevoke(caller, rightsOf(row)));
    enforce(mayManageToken(caller, row.id));
    const revoked = await this.repo.revokeTree(row.id);
    await this.audit.recordRevocation({ action, actor: caller, target: tokenTarget(row) }, revoked);
    return revoked;
  }

  /**
   * Rotation: a new secret for the same token identity (id, lookup id, stub, rights, expiry, place in
   * the token tree). The caller must be allowed to change the token (policy rule 4): it sees it, holds
   * every permission it has, and does not expire before it. `anyKind`: global and project tokens (the
   * REST route); otherwise global tokens only (Publisher-style).
   */
  async rotate(
    caller: Principal,
    id: string,
    graceMs = 0,
    { anyKind = false }: { anyKind?: boolean } = {},
  ): Promise<RotatedTokenResponseDto> {
    const row = anyKind
      ? await this.repo.findById(caller.projects, id)
      : await this.repo.findGlobalById(caller.projects, id);
    if (!row) throw ApiError.notFound('Token not found');
    enforce(mayChange(caller, rightsOf(row)));
    enforce(mayManageToken(caller, row.id));
    const status = tokenStatus(row);
    if (status !== 'active') throw ApiError.conflict(`Token is ${status}: it cannot be rotated`, { status });
    if (row.removeOnUse) throw ApiError.conflict('Single-use tokens cannot be rotated');
    const rotated = await this.issuer.rotate(row, graceMs);
    if (!rotated) throw ApiError.conflict('Token was rotated or revoked meanwhile: try again');
    await this.audit.record({
      action: 'token.rotate',
      actor: caller,
      target: tokenTarget(row),
      details: { grace_ms: graceMs },
    });
    return {
      id: rotated.row.id,
      access: rotated.row.access,
      description: rotated.row.description,
      token: rotated.token,
      created_at: iso(rotated.row.createdAt)!,
      expires_at: iso(rotated.row.expiresAt),
      previous_expires_at: iso(rotated.row.previousExpiresAt),
    };
  }

  /**
   * Every token of one owner in one call: revoke (each with the tokens created through it). Each token
   * goes through the policy like a single revoke (tokens the caller cannot see are not counted at all;
   * tokens it sees but may not revoke are `skipped`), and each is audited.
   */
  async revokeByOwner(caller: Principal, owner: string): Promise<OwnerActionResultDto> {
    const { allowed, skipped } = await this.ownedReachable(caller, owner);
    const tokens: string[] = [];
    let descendants = 0;
    for (const row of allowed) {
      const revoked = await this.repo.revokeTree(row.id);
      if (!revoked.includes(row.id)) continue;
      tokens.push(row.id);
      descendants += revoked.length - 1;
      await this.audit.recordRevocation({ action: 'token.revoke', actor: caller, target: tokenTarget(row) }, revoked);
    }
    return { tokens, descendants, skipped };
  }

  /** Every token of one owner in one call: disable, with the same policy and audit as `revokeByOwner`. */
  async disableByOwner(caller: Principal, owner: string): Promise<OwnerActionResultDto> {
    const { allowed, skipped } = await this.ownedReachable(caller, owner);
    const tokens: string[] = [];
    for (const row of allowed) {
      if (!row.enabled) continue;
      if (!(await this.repo.setEnabled(row.id, false))) continue;
      tokens.push(row.id);
      await this.audit.record({ action: 'token.disable', actor: caller, target: tokenTarget(row), details: { owner } });
    }
    return { tokens, descendants: 0, skipped };
  }

  /**
   * The token trees under a tokens-file entry: everything an entry created lives in the database, so
   * that when the entry's secret leaked the operator can end all of it at once (disabling or removing
   * the entry suspends the tree; this revokes it for good).
   */
  async revokeEntryTree(caller: Principal, name: string): Promise<RevokedTreeDto> {
    if (caller.source !== 'admin' && caller.source !== 'cli') {
      throw ApiError.forbidden("Only the admin token may revoke a tokens-file entry's tokens");
    }
    if (!name.length || name.length > ENTRY_NAME_MAX) {
      throw validationFailed({ name: [`name must be 1 to ${ENTRY_NAME_MAX} characters`] });
    }
    const creator = `file:${name}`;
    const revoked = await this.repo.revokeTreesOf(creator);
    await this.audit.recordRevocation(
      { action: 'token.revoke', actor: caller, target: { type: 'tokens_file', id: creator } },
      revoked,
    );
    return { creator, revoked: revoked.length };
  }

  /** The owner's live tokens the caller sees, split into those it may revoke/disable and the rest. */
  private async ownedReachable(caller: Principal, owner: string) {
    const rows = (await this.repo.liveByOwner(caller.projects, owner)).filter(
      (r) => maySee(caller, rightsOf(r)).allowed,
    );
    const allowed = rows.filter((r) => mayRevoke(caller, rightsOf(r)).allowed);
    return { allowed, skipped: rows.length - allowed.length };
  }
}
