import { Injectable } from '@nestjs/common';
import { normalizeScopes } from '../access/app-scopes.js';
import { enforce, grantWithin, mayChange, mayManageToken, mayRevoke, maySee } from '../access/policy.js';
import type { Permission } from '../access/permissions.js';
import type { Principal } from '../access/principal.js';
import type { Scope } from '../access/scope.js';
import { type AuditDetails, AuditService, tokenTarget } from '../audit/audit.service.js';
import { ApiError } from '../common/errors/api-error.js';
import { validationFailed } from '../common/errors/validation.js';
import { parseDuration } from '../common/time.js';
import { rightsOf } from '../verification/token-rights.js';
import { appFieldsData, auditedAppFields } from './app-fields.js';
import type { AppFieldsDto } from './http/app-fields.dto.js';
import type { ApiTokenDto } from './http/publisher/publisher.dto.js';
import type { RotatedTokenResponseDto } from './http/publisher/rotate.dto.js';
import type { OwnerActionResultDto } from './http/rest/owner.dto.js';
import type { RevokedTreeDto } from './http/rest/token-tree.dto.js';
import { TokenIssuer } from './token-issuer.js';
import { iso, toApiTokenDto, tokenStatus } from './token-views.js';
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
 * Token management rules shared by every API style: create, revoke, rotate, enable and disable, and
 * the bulk actions (an owner's tokens, a tokens-file entry's trees). The styles map onto these.
 */
@Injectable()
export class TokensService {
  constructor(
    private readonly repo: TokensRepository,
    private readonly issuer: TokenIssuer,
    private readonly audit: AuditService,
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
    const { row, token } = await this.issuer.issue(caller, rights, {
      kind: request.kind,
      name: request.name,
      description: request.description,
      app: appFieldsData(request.app),
    });
    await this.audit.record({
      action: 'token.create',
      actor: caller,
      target: tokenTarget(row),
      details: { ...request.auditDetails(row), ...auditedAppFields(row) },
    });
    return { row, token };
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
   * Disables or enables a global token without revoking it (like a tokens file's `enabled: false`): a
   * disabled token gets 401 and verify reports DISABLED; enabling restores it.
   */
  async setEnabled(caller: Principal, id: string, enabled: boolean): Promise<ApiTokenDto> {
    const current = await this.repo.findGlobalById(caller.projects, id);
    if (!current) throw ApiError.notFound('Token not found');
    // Disabling takes rights away, like revoking; enabling gives them back, like any other change.
    enforce(enabled ? mayChange(caller, rightsOf(current)) : mayRevoke(caller, rightsOf(current)));
    enforce(mayManageToken(caller, current.id));
    if (current.revokedAt) throw ApiError.conflict('Token is revoked', { id });
    const row = await this.repo.setEnabled(id, enabled, { kind: 'global' });
    if (!row) throw ApiError.conflict('Token is revoked', { id });
    await this.audit.record({
      action: enabled ? 'token.enable' : 'token.disable',
      actor: caller,
      target: tokenTarget(row),
    });
    return toApiTokenDto(row);
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
