import { Inject, Injectable } from '@nestjs/common';
import { enforce, mayGrantProjects } from '../access/policy.js';
import { requestedPermissions } from '../access/permissions.js';
import type { Principal } from '../access/principal.js';
import type { Scope } from '../access/scope.js';
import { formatDuration, parseDuration } from '../common/time.js';
import { validationFailed } from '../common/errors/validation.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import type { CreateTtlTokenDto, TtlTokenCreatedDto } from './http/ttl/ttl-token.dto.js';
import { TokensService } from './tokens.service.js';
import { VerificationRepository } from '../verification/verification.repository.js';

const MIN_TTL_MS = 1000;

/** A `ttl`, bounded: at least 1 s, at most KEYWARD_MAX_TOKEN_TTL. */
function parseTtl(ttl: string, maxMs: number): number {
  const value = parseDuration(ttl);
  if (value === null) {
    throw validationFailed({ ttl: ['ttl must be a duration like 30s, 15m, 1h or 7d'] });
  }
  if (value < MIN_TTL_MS) throw validationFailed({ ttl: ['ttl must be at least 1s'] });
  if (value > maxMs) throw validationFailed({ ttl: [`ttl must be at most ${formatDuration(maxMs)}`] });
  return value;
}

/** `POST /auth/tokens`: short-lived tokens, optionally single-use, never with more than the caller holds. */
@Injectable()
export class TtlTokensService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly tokens: TokensService,
    private readonly projectRefs: VerificationRepository,
  ) {}

  async create(caller: Principal, dto: CreateTtlTokenDto): Promise<TtlTokenCreatedDto> {
    const ttlMs = parseTtl(dto.ttl, this.config.KEYWARD_MAX_TOKEN_TTL);
    const permissions = requestedPermissions(dto, caller.permissions);
    let projects: Scope = caller.projects;
    if (dto.projects) {
      const resolved = await this.projectRefs.resolveProjectIds(dto.projects);
      // A confined caller gets the same answer for a project outside its scope and for no project at
      // all (403), so it learns nothing about other projects; an unconfined one sees every project.
      enforce(mayGrantProjects(caller, resolved));
      const unknown = dto.projects.filter((_, i) => resolved[i] === null);
      if (unknown.length) throw validationFailed({ projects: unknown.map((p) => `unknown project: ${p}`) });
      projects = [...new Set(resolved as string[])];
    }
    // A project token's children are project tokens of the same project (its scope is that project).
    const { row, token } = await this.tokens.create(caller, {
      kind: caller.kind === 'project' ? 'project' : 'global',
      permissions,
      projects,
      expiresAt: new Date(Date.now() + ttlMs),
      singleUse: dto.remove_on_use ?? false,
      description: dto.description ?? null,
      app: dto,
      auditDetails: (created) => ({ ttl: dto.ttl, remove_on_use: created.removeOnUse }),
    });
    return {
      id: row.id,
      token,
      expires_at: row.expiresAt!.toISOString(),
      remove_on_use: row.removeOnUse,
    };
  }
}
