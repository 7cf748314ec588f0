import { Injectable } from '@nestjs/common';
import { mayRevoke, maySee } from '../access/policy.js';
import type { Principal } from '../access/principal.js';
import { AuditService, tokenTarget } from '../audit/audit.service.js';
import { rightsOf } from '../verification/token-rights.js';
import type { OwnerActionResultDto } from './http/rest/owner.dto.js';
import { TokensRepository } from './tokens.repository.js';

/**
 * Every token of one owner in one call: revoke (each with the tokens created through it) or disable.
 * Each token goes through the policy like a single revoke or disable (tokens the caller cannot see are
 * not counted at all; tokens it sees but may not revoke are `skipped`), and each is audited.
 */
@Injectable()
export class OwnerTokensService {
  constructor(
    private readonly repo: TokensRepository,
    private readonly audit: AuditService,
  ) {}

  async revoke(caller: Principal, owner: string): Promise<OwnerActionResultDto> {
    const { allowed, skipped } = await this.reachable(caller, owner);
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

  async disable(caller: Principal, owner: string): Promise<OwnerActionResultDto> {
    const { allowed, skipped } = await this.reachable(caller, owner);
    const tokens: string[] = [];
    for (const row of allowed) {
      if (!row.enabled) continue;
      if (!(await this.repo.setEnabled(row.id, false))) continue;
      tokens.push(row.id);
      await this.audit.record({ action: 'token.disable', actor: caller, target: tokenTarget(row), details: { owner } });
    }
    return { tokens, descendants: 0, skipped };
  }

  /** The owner's live tokens the caller sees, split into those it may revoke/disable and the rest. */
  private async reachable(caller: Principal, owner: string) {
    const rows = (await this.repo.liveByOwner(caller.projects, owner)).filter(
      (r) => maySee(caller, rightsOf(r)).allowed,
    );
    const allowed = rows.filter((r) => mayRevoke(caller, rightsOf(r)).allowed);
    return { allowed, skipped: rows.length - allowed.length };
  }
}
