import { Injectable } from '@nestjs/common';
import { assertCanGrant } from '../access/policy.js';
import { permissionsForAccess } from '../access/permissions.js';
import type { Principal } from '../access/principal.js';
import { ApiError } from '../common/api-error.js';
import type { Prisma } from '../generated/prisma/client.js';
import type { ApiTokenDto } from './dto/publisher.dto.js';
import { toApiTokenDto } from './publisher.service.js';
import { TokensRepository } from './tokens.repository.js';

/**
 * Disables and enables Publisher-style tokens without revoking them (like a tokens file's
 * `enabled: false`): a disabled token gets 401 and verify reports DISABLED; enabling restores it.
 */
@Injectable()
export class TokenSwitchService {
  constructor(private readonly repo: TokensRepository) {}

  async set(caller: Principal, id: string, enabled: boolean): Promise<ApiTokenDto> {
    // Like every Publisher-style route: global tokens only.
    if (caller.kind !== 'global') throw ApiError.forbidden();
    // The same reach as revoke: global tokens, within the caller's projects when it is confined.
    const scope: Prisma.ApiTokenWhereInput =
      caller.projects === null ? { kind: 'global' } : { kind: 'global', scopeProjects: { hasEvery: caller.projects } };
    const current = await this.repo.findGlobalById(id);
    if (!current || (caller.projects !== null && !caller.projects.every((p) => current.scopeProjects.includes(p)))) {
      throw ApiError.notFound('Token not found');
    }
    if (current.revokedAt) throw ApiError.conflict('Token is revoked', { id });
    if (enabled) {
      // Enabling gives the token's rights back: only a caller who could grant them may do it.
      const permissions = current.permissions.length ? current.permissions : permissionsForAccess(current.access);
      assertCanGrant(caller, { access: current.access, permissions, projects: caller.projects });
    }
    const row = await this.repo.setEnabled(id, enabled, scope);
    if (!row) throw ApiError.conflict('Token is revoked', { id });
    return toApiTokenDto(row);
  }
}
