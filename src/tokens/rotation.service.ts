import { Injectable } from '@nestjs/common';
import { assertCanGrant } from '../access/policy.js';
import { permissionsForAccess } from '../access/permissions.js';
import type { Principal } from '../access/principal.js';
import { AuditService, tokenTarget } from '../audit/audit.service.js';
import { ApiError } from '../common/api-error.js';
import type { ApiTokenCreatedDto } from './dto/publisher.dto.js';
import { iso, tokenStatus } from './publisher.service.js';
import { TokenIssuer } from './token-issuer.js';
import { TokensRepository } from './tokens.repository.js';

export interface RotatedTokenDto extends ApiTokenCreatedDto {
  /** Until when the previous secret still authenticates (null: it stopped at once). */
  previous_expires_at: string | null;
}

/** Rotation: a new secret for the same token identity (id, lookup id, stub, rights, expiry). */
@Injectable()
export class RotationService {
  constructor(
    private readonly repo: TokensRepository,
    private readonly issuer: TokenIssuer,
    private readonly audit: AuditService,
  ) {}

  /**
   * Issues a new secret for a global token in the caller's scope (seed 004-style rotation, also used by
   * the CLI). Revoked, used and expired tokens cannot be rotated. A caller cannot rotate a token that
   * would give it more than it holds (access, permissions, projects, or an expiry past its own).
   */
  async rotate(
    caller: Principal,
    id: string,
    graceMs = 0,
    { anyKind = false }: { anyKind?: boolean } = {},
  ): Promise<RotatedTokenDto> {
    const row = anyKind ? await this.repo.findById(id) : await this.repo.findGlobalById(id);
    const isProject = row?.kind === 'project';
    const tokenProjects = row
      ? isProject
        ? [row.projectId!]
        : row.scopeProjects.length
          ? row.scopeProjects
          : null
      : null;
    const inScope =
      row &&
      (caller.projects === null ||
        (tokenProjects !== null && tokenProjects.every((p) => caller.projects!.includes(p))));
    if (!row || !inScope) throw ApiError.notFound('Token not found');
    const status = tokenStatus(row);
    if (status !== 'active') throw ApiError.conflict(`Token is ${status}: it cannot be rotated`, { status });
    if (row.removeOnUse) throw ApiError.conflict('Single-use tokens cannot be rotated');
    const expiresAt = assertCanGrant(caller, {
      access: row.access,
      permissions: row.permissions.length ? row.permissions : permissionsForAccess(row.access),
      projects: tokenProjects,
      expiresAt: row.expiresAt,
    });
    if (expiresAt?.getTime() !== row.expiresAt?.getTime()) {
      throw ApiError.forbidden('Cannot rotate a token that outlives your own');
    }
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
}
