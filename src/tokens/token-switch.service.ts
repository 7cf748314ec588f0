import { Injectable } from '@nestjs/common';
import { enforce, mayChange, mayManageToken, mayRevoke } from '../access/policy.js';
import type { Principal } from '../access/principal.js';
import { AuditService, tokenTarget } from '../audit/audit.service.js';
import { ApiError } from '../common/errors/api-error.js';
import type { ApiTokenDto } from './http/publisher/publisher.dto.js';
import { toApiTokenDto } from './publisher.service.js';
import { rightsOf } from '../verification/token-rights.js';
import { TokensRepository } from './tokens.repository.js';

/**
 * Disables and enables Publisher-style tokens without revoking them (like a tokens file's
 * `enabled: false`): a disabled token gets 401 and verify reports DISABLED; enabling restores it.
 */
@Injectable()
export class TokenSwitchService {
  constructor(
    private readonly repo: TokensRepository,
    private readonly audit: AuditService,
  ) {}

  async set(caller: Principal, id: string, enabled: boolean): Promise<ApiTokenDto> {
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
}
