import { Inject, Injectable } from '@nestjs/common';
import { assertCanGrant } from '../access/policy.js';
import { permissionsForAccess } from '../access/permissions.js';
import type { Principal } from '../access/principal.js';
import { ApiError } from '../common/api-error.js';
import { parseDateTime } from '../common/dates.js';
import { decodeCursor, encodeCursor, type KeysetPosition } from '../common/keyset-cursor.js';
import { validationFailed } from '../common/validation.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import type { Prisma } from '../generated/prisma/client.js';
import type {
  ApiTokenCreatedDto,
  ApiTokenDto,
  ApiTokenListDto,
  CreateApiTokenDto,
  ListApiTokensDto,
} from './dto/publisher.dto.js';
import { TokenIssuer } from './token-issuer.js';
import { type TokenRow, TokensRepository } from './tokens.repository.js';

export const iso = (d: Date | null) =>
  d ? d.toISOString().replace(/\.\d{3}Z$/, (m) => (m === '.000Z' ? 'Z' : m)) : null;

export function tokenStatus(row: TokenRow, now = new Date()): 'active' | 'expired' | 'revoked' | 'used' {
  if (row.revokedAt) return 'revoked';
  if (row.usedAt) return 'used';
  if (row.expiresAt && row.expiresAt <= now) return 'expired';
  return 'active';
}

export function toApiTokenDto(row: TokenRow): ApiTokenDto {
  return {
    id: row.id,
    access: row.access,
    description: row.description,
    token_stub: row.stub,
    status: tokenStatus(row),
    created_at: iso(row.createdAt)!,
    expires_at: iso(row.expiresAt),
    revoked_at: iso(row.revokedAt),
    last_used_at: iso(row.lastUsedAt),
  };
}

/** The Publisher-style RPC API: create, list, revoke global tokens. */
@Injectable()
export class PublisherService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly repo: TokensRepository,
    private readonly issuer: TokenIssuer,
  ) {}

  async create(caller: Principal, dto: CreateApiTokenDto): Promise<ApiTokenCreatedDto> {
    let requested: Date | null = null;
    if (dto.expires_at) {
      requested = parseDateTime(dto.expires_at);
      if (!requested) throw validationFailed({ expires_at: ['expires_at must be an RFC 3339 date-time'] });
      if (requested.getTime() <= Date.now()) {
        throw validationFailed({ expires_at: ['expires_at must be in the future'] });
      }
      if (requested.getTime() > Date.now() + this.config.KEYWARD_MAX_TOKEN_TTL) {
        throw validationFailed({ expires_at: ['expires_at is further away than KEYWARD_MAX_TOKEN_TTL allows'] });
      }
    }
    const expiresAt = assertCanGrant(caller, {
      access: dto.access,
      permissions: permissionsForAccess(dto.access),
      projects: caller.projects,
      expiresAt: requested,
    });
    const { row, token } = await this.issuer.issue({
      kind: 'global',
      access: dto.access,
      permissions: permissionsForAccess(dto.access),
      scopeProjects: caller.projects ?? [],
      description: dto.description ?? null,
      createdById: caller.id,
      expiresAt,
    });
    return {
      id: row.id,
      access: row.access,
      description: row.description,
      token,
      created_at: iso(row.createdAt)!,
      expires_at: iso(row.expiresAt),
    };
  }

  async list(caller: Principal, dto: ListApiTokensDto): Promise<ApiTokenListDto> {
    const limit = dto.pagination?.limit ?? this.config.KEYWARD_DEFAULT_PAGE_SIZE;
    let direction = dto.sorts?.[0]?.direction ?? 'desc';
    let after: KeysetPosition | undefined;
    if (dto.pagination?.cursor) {
      ({ direction, ...after } = decodeCursor(dto.pagination.cursor, {
        field: 'pagination.cursor',
        message: 'pagination.cursor is not a cursor returned by list',
        withDirection: true,
      }));
    }
    const now = new Date();
    const where: Prisma.ApiTokenWhereInput[] = [];
    if (caller.projects !== null) where.push({ scopeProjects: { hasEvery: caller.projects } });
    for (const f of dto.filters ?? []) {
      if (f.key === 'access') {
        if (f.value !== 'read' && f.value !== 'write') throw validationFailed({ filters: ['access is read or write'] });
        where.push({ access: f.value });
      } else {
        if (f.value === 'active')
          where.push({ revokedAt: null, usedAt: null, OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] });
        else if (f.value === 'revoked') where.push({ revokedAt: { not: null } });
        else if (f.value === 'expired') where.push({ revokedAt: null, expiresAt: { lte: now } });
        else throw validationFailed({ filters: ['status is active, expired or revoked'] });
      }
    }
    const rows = await this.repo.pageGlobal({ AND: where }, { limit: limit + 1, after, direction });
    const more = rows.length > limit;
    const page = rows.slice(0, limit);
    return {
      data: page.map(toApiTokenDto),
      page: { page_size: page.length, cursor: more ? encodeCursor(page[page.length - 1], direction) : null, more },
    };
  }

  async revoke(caller: Principal, id: string): Promise<ApiTokenDto> {
    const scope: Prisma.ApiTokenWhereInput =
      caller.projects === null ? { kind: 'global' } : { kind: 'global', scopeProjects: { hasEvery: caller.projects } };
    const row = await this.repo.revoke(id, scope);
    if (!row) throw ApiError.notFound('Token not found');
    return toApiTokenDto(row);
  }
}
