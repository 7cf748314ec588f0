import { Injectable } from '@nestjs/common';
import type { Principal } from '../access/principal.js';
import { TokenVerifier } from './token-verifier.js';
import type { VerifiedTokenDto, VerifyResultDto, VerifyTokenDto } from './dto/verify.dto.js';

const NO_FLAGS = { allow_overwrite: false, allow_delete: false, existing_projects_only: false };

function describe(p: Principal): VerifiedTokenDto {
  return {
    id: p.id,
    name: p.name,
    access: p.access,
    permissions: p.permissions,
    projects: p.projects === null ? null : [...p.projects],
    flags: p.flags ?? NO_FLAGS,
    expiresAt: p.expiresAt ? p.expiresAt.toISOString() : null,
  };
}

/**
 * `POST /v1/tokens/verify`: how other services delegate their token checks. Always 200 with a verdict
 * (Unkey's convention), from the same verifier the guard uses. A token outside the caller's own scope
 * is reported NOT_FOUND, so existence does not leak. A single-use token is consumed only by a VALID
 * verdict.
 */
@Injectable()
export class VerificationService {
  constructor(private readonly verifier: TokenVerifier) {}

  async verify(caller: Principal, dto: VerifyTokenDto): Promise<VerifyResultDto> {
    const verdict = await this.verifier.verify(dto.token, {
      permission: dto.permission,
      project: dto.project,
      consume: true,
      visibleTo: caller,
    });
    if (!verdict.principal) return { valid: false, code: 'NOT_FOUND' };
    return { valid: verdict.code === 'VALID', code: verdict.code, token: describe(verdict.principal) };
  }
}
