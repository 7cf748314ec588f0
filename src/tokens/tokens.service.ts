import { Injectable } from '@nestjs/common';
import { normalizeScopes } from '../access/app-scopes.js';
import { enforce, grantWithin } from '../access/policy.js';
import type { Permission } from '../access/permissions.js';
import type { Principal } from '../access/principal.js';
import type { Scope } from '../access/scope.js';
import { type AuditDetails, AuditService, tokenTarget } from '../audit/audit.service.js';
import { appFieldsData, auditedAppFields } from './app-fields.js';
import type { AppFieldsDto } from './http/app-fields.dto.js';
import { TokenIssuer } from './token-issuer.js';
import type { TokenRow } from './tokens.repository.js';

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

/** Token management rules shared by every API style. */
@Injectable()
export class TokensService {
  constructor(
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
}
