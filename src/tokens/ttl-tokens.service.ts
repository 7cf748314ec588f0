import { Inject, Injectable } from '@nestjs/common';
import ms from 'ms';
import { assertCanGrant } from '../access/policy.js';
import { type Access, accessOf, permissionsForAccess } from '../access/permissions.js';
import type { Principal } from '../access/principal.js';
import { AuditService, tokenTarget } from '../audit/audit.service.js';
import { validationFailed } from '../common/validation.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import type { CreateTtlTokenDto, TtlTokenCreatedDto } from './dto/ttl-token.dto.js';
import { TokensRepository } from './tokens.repository.js';
import { TokenIssuer } from './token-issuer.js';

const MIN_TTL_MS = 1000;

/** Parses a seed 003 `ttl` with `ms`, bounded: at least 1 s, at most KEYWARD_MAX_TOKEN_TTL. */
export function parseTtl(ttl: string, maxMs: number): number {
  const value = ms(ttl.trim() as ms.StringValue);
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw validationFailed({ ttl: ['ttl must be a duration like 30s, 15m, 1h or 7d'] });
  }
  if (value < MIN_TTL_MS) throw validationFailed({ ttl: ['ttl must be at least 1s'] });
  if (value > maxMs) throw validationFailed({ ttl: [`ttl must be at most ${ms(maxMs, { long: true })}`] });
  return value;
}

/** `POST /auth/tokens`: short-lived tokens, optionally single-use, never with more than the caller holds. */
@Injectable()
export class TtlTokensService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly issuer: TokenIssuer,
    private readonly repo: TokensRepository,
    private readonly audit: AuditService,
  ) {}

  async create(caller: Principal, dto: CreateTtlTokenDto): Promise<TtlTokenCreatedDto> {
    const ttlMs = parseTtl(dto.ttl, this.config.KEYWARD_MAX_TOKEN_TTL);
    const access: Access = dto.access ?? caller.access;
    const permissions = dto.permissions
      ? [...new Set(dto.permissions)]
      : access === caller.access
        ? caller.permissions
        : permissionsForAccess(access).filter((p) => caller.permissions.includes(p));
    if (dto.permissions && dto.access && accessOf(permissions) === 'write' && dto.access === 'read') {
      throw validationFailed({ permissions: ['a read token cannot hold create, update or delete permissions'] });
    }
    let projects: string[] | null = caller.projects;
    if (dto.projects) {
      const resolved = await this.repo.resolveProjectIds(dto.projects);
      const unknown = dto.projects.filter((_, i) => resolved[i] === null);
      if (unknown.length) throw validationFailed({ projects: unknown.map((p) => `unknown project: ${p}`) });
      projects = [...new Set(resolved as string[])];
    }
    const expiresAt = assertCanGrant(caller, {
      access,
      permissions,
      projects,
      expiresAt: new Date(Date.now() + ttlMs),
    })!;
    const isProjectCaller = caller.kind === 'project';
    const { row, token } = await this.issuer.issue({
      kind: isProjectCaller ? 'project' : 'global',
      access: isProjectCaller ? accessOf(permissions) : access,
      permissions,
      projectId: isProjectCaller ? caller.projects![0] : null,
      scopeProjects: isProjectCaller ? [] : (projects ?? []),
      name: null,
      description: dto.description ?? null,
      createdById: caller.id,
      expiresAt,
      removeOnUse: dto.remove_on_use ?? false,
    });
    await this.audit.record({
      action: 'token.create',
      actor: caller,
      target: tokenTarget(row),
      details: { ttl: dto.ttl, remove_on_use: row.removeOnUse },
    });
    return {
      id: row.id,
      token,
      expires_at: row.expiresAt!.toISOString(),
      remove_on_use: row.removeOnUse,
    };
  }
}
