import { Injectable } from '@nestjs/common';
import type { Principal } from '../access/principal.js';
import { AuditService } from '../audit/audit.service.js';
import { ApiError } from '../common/errors/api-error.js';
import { validationFailed } from '../common/errors/validation.js';
import type { RevokedTreeDto } from './http/rest/token-tree.dto.js';
import { TokensRepository } from './tokens.repository.js';

export const ENTRY_NAME_MAX = 200;

/**
 * The token trees under a tokens-file entry: everything an entry created lives in the database, so
 * that when the entry's secret leaked the operator can end all of it at once (disabling or removing the
 * entry suspends the tree; this revokes it for good).
 */
@Injectable()
export class TokenTreeService {
  constructor(
    private readonly repo: TokensRepository,
    private readonly audit: AuditService,
  ) {}

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
}
