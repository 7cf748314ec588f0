import { Injectable } from '@nestjs/common';
import { TokenVerifier } from '../auth/token-verifier.js';
import { grants, type Permission } from '../access/permissions.js';
import type { Principal } from '../access/principal.js';
import { TokensRepository } from '../tokens/tokens.repository.js';
import type { VerifiedTokenDto, VerifyResultDto, VerifyTokenDto } from './dto/verify.dto.js';

const NO_FLAGS = { allow_overwrite: false, allow_delete: false, existing_projects_only: false };

function describe(p: Principal): VerifiedTokenDto {
  return {
    id: p.id,
    name: p.name,
    access: p.access,
    permissions: p.permissions,
    projects: p.projects,
    flags: p.flags ?? NO_FLAGS,
    expiresAt: p.expiresAt ? p.expiresAt.toISOString() : null,
  };
}

/**
 * `POST /v1/tokens/verify`: how other services delegate their token checks. Always 200 with a verdict
 * (Unkey's convention). A token outside the caller's own project scope is reported NOT_FOUND, so
 * existence does not leak. A single-use token is consumed only by a VALID verdict.
 */
@Injectable()
export class VerificationService {
  constructor(
    private readonly auth: TokenVerifier,
    private readonly tokens: TokensRepository,
  ) {}

  async verify(caller: Principal, dto: VerifyTokenDto): Promise<VerifyResultDto> {
    const verdict = await this.auth.inspect(dto.token, { consume: false });
    if (verdict.code === 'NOT_FOUND' || !verdict.principal) return { valid: false, code: 'NOT_FOUND' };
    const subject = verdict.principal;
    if (!this.callerSees(caller, subject)) return { valid: false, code: 'NOT_FOUND' };
    if (verdict.code !== 'VALID') return { valid: false, code: verdict.code, token: describe(subject) };
    if (dto.permission && !grants(subject.permissions, dto.permission as Permission)) {
      return { valid: false, code: 'FORBIDDEN', token: describe(subject) };
    }
    if (dto.project !== undefined && !(await this.allowedOn(subject, dto.project))) {
      return { valid: false, code: 'FORBIDDEN', token: describe(subject) };
    }
    if (verdict.row?.removeOnUse && !(await this.tokens.consumeSingleUse(verdict.row.id))) {
      return { valid: false, code: 'USED', token: describe(subject) };
    }
    return { valid: true, code: 'VALID', token: describe(subject) };
  }

  /** A caller confined to projects only sees tokens confined to (a subset of) the same projects. */
  private callerSees(caller: Principal, subject: Principal): boolean {
    if (caller.projects === null) return true;
    return subject.projects !== null && subject.projects.every((p) => caller.projects!.includes(p));
  }

  private async allowedOn(subject: Principal, project: string): Promise<boolean> {
    if (subject.projects === null) return true;
    const [id] = await this.tokens.resolveProjectIds([project]);
    const names = id ? await this.tokens.projectNames([id]) : [];
    const aliases = new Set([project, ...(id ? [id] : []), ...names]);
    return subject.projects.some((p) => aliases.has(p));
  }
}
