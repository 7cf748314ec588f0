import { Injectable } from '@nestjs/common';
import { enforce, mayChange, mayManageToken } from '../access/policy.js';
import type { Principal } from '../access/principal.js';
import { AuditService, tokenTarget } from '../audit/audit.service.js';
import { ApiError } from '../common/errors/api-error.js';
import { validationFailed } from '../common/errors/validation.js';
import { parseDuration } from '../common/time.js';
import type { RotatedTokenResponseDto } from './http/publisher/rotate.dto.js';
import { iso, tokenStatus } from './publisher.service.js';
import { TokenIssuer } from './token-issuer.js';
import { rightsOf } from '../verification/token-rights.js';
import { TokensRepository } from './tokens.repository.js';

const MAX_GRACE_MS = 30 * 86_400_000;

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
 * Rotation: a new secret for the same token identity (id, lookup id, stub, rights, expiry, place in
 * the token tree). The caller must be allowed to change the token (policy rule 4): it sees it, holds
 * every permission it has, and does not expire before it.
 */
@Injectable()
export class RotationService {
  constructor(
    private readonly repo: TokensRepository,
    private readonly issuer: TokenIssuer,
    private readonly audit: AuditService,
  ) {}

  /** `anyKind`: global and project tokens (the REST route); otherwise global tokens only (Publisher-style). */
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
}
