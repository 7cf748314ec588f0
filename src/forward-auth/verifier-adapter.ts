import { Injectable } from '@nestjs/common';
import { grants, type Permission } from '../access/permissions.js';
import type { Principal } from '../access/principal.js';
import { TokenVerifier } from '../auth/token-verifier.js';
import { TokensRepository } from '../tokens/tokens.repository.js';

// TEMPORARY: the shape TokenVerifier.verify takes on main after the authorization-policy change; removed
// when that lands (then ForwardAuthService calls TokenVerifier.verify directly).
export interface VerifyOptions {
  permission?: Permission;
  project?: string;
  consume?: boolean;
}
export interface AdaptedVerdict {
  code: 'VALID' | 'NOT_FOUND' | 'EXPIRED' | 'REVOKED' | 'DISABLED' | 'USED' | 'FORBIDDEN';
  principal?: Principal;
}

@Injectable()
export class VerifierAdapter {
  constructor(
    private readonly verifier: TokenVerifier,
    private readonly tokens: TokensRepository,
  ) {}

  async verify(presented: string, opts: VerifyOptions): Promise<AdaptedVerdict> {
    const verdict = await this.verifier.inspect(presented, { consume: false });
    if (verdict.code !== 'VALID') return { code: verdict.code, principal: verdict.principal };
    const subject = verdict.principal;
    if (opts.permission && !grants(subject.permissions, opts.permission))
      return { code: 'FORBIDDEN', principal: subject };
    if (opts.project !== undefined && subject.projects !== null) {
      const [id] = await this.tokens.resolveProjectIds([opts.project]);
      const names = id ? await this.tokens.projectNames([id]) : [];
      const aliases = new Set([opts.project, ...(id ? [id] : []), ...names]);
      if (!subject.projects.some((p) => aliases.has(p))) return { code: 'FORBIDDEN', principal: subject };
    }
    if (opts.consume && verdict.row?.removeOnUse && !(await this.tokens.consumeSingleUse(verdict.row.id))) {
      return { code: 'USED', principal: subject };
    }
    return { code: 'VALID', principal: subject };
  }
}
