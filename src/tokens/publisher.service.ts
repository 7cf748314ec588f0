import { Inject, Injectable } from '@nestjs/common';
import { enforce, mayManageToken, mayRevoke } from '../access/policy.js';
import { normalizePermissions, permissionsForAccess } from '../access/permissions.js';
import type { Principal } from '../access/principal.js';
import { AuditService, tokenTarget } from '../audit/audit.service.js';
import { ApiError } from '../common/errors/api-error.js';
import { parseDateTime } from '../common/time.js';
import { decodeCursor, encodeCursor, type KeysetPosition } from '../common/http/keyset-cursor.js';
import { validationFailed } from '../common/errors/validation.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import type {
  ApiTokenCreatedDto,
  ApiTokenDto,
  ApiTokenListDto,
  CreateApiTokenDto,
  ListApiTokensDto,
  RevokedApiTokenDto,
} from './http/publisher/publisher.dto.js';
import { appFieldsView } from './app-fields.js';
import { rightsOf } from '../verification/token-rights.js';
import { type GlobalTokenFilter, type TokenRow, TokensRepository } from './tokens.repository.js';
import { TokensService } from './tokens.service.js';

export const iso = (d: Date | null) =>
  d ? d.toISOString().replace(/\.\d{3}Z$/, (m) => (m === '.000Z' ? 'Z' : m)) : null;

export function tokenStatus(row: TokenRow, now = new Date()): 'active' | 'expired' | 'revoked' | 'used' {
  if (row.revokedAt) return 'revoked';
  if (row.usedAt) return 'used';
  if (row.expiresAt && row.expiresAt <= now) return 'expired';
  return 'active';
}

export function toApiTokenDto(row: TokenRow): ApiTokenDto {
  const permissions = normalizePermissions(row.permissions);
  return {
    id: row.id,
    access: row.access,
    permissions,
    description: row.description,
    token_stub: row.stub,
    status: tokenStatus(row),
    created_at: iso(row.createdAt)!,
    expires_at: iso(row.expiresAt),
    revoked_at: iso(row.revokedAt),
    last_used_at: iso(row.lastUsedAt),
    enabled: row.enabled,
    ...appFieldsView(row),
  };
}

/** The Publisher-style RPC API: create, list and revoke global tokens. */
@Injectable()
export class PublisherService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly repo: TokensRepository,
    private readonly tokens: TokensService,
    private readonly audit: AuditService,
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
    const { row, token } = await this.tokens.create(caller, {
      kind: 'global',
      permissions: permissionsForAccess(dto.access),
      projects: caller.projects,
      expiresAt: requested,
      singleUse: false,
      description: dto.description ?? null,
      app: dto,
      auditDetails: (created) => ({ access: created.access }),
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

  /** Global tokens whose scope lies inside the caller's, newest first by default. */
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
    const filter: GlobalTokenFilter = { within: caller.projects, now: new Date() };
    for (const f of dto.filters ?? []) {
      if (f.key === 'owner') filter.owner = f.value;
      else if (f.key === 'access') {
        if (f.value !== 'read' && f.value !== 'write') throw validationFailed({ filters: ['access is read or write'] });
        filter.access = f.value;
      } else {
        if (f.value !== 'active' && f.value !== 'revoked' && f.value !== 'expired') {
          throw validationFailed({ filters: ['status is active, expired or revoked'] });
        }
        filter.status = f.value;
      }
    }
    const rows = await this.repo.pageGlobal(filter, { limit: limit + 1, after, direction });
    const more = rows.length > limit;
    const page = rows.slice(0, limit);
    return {
      data: page.map(toApiTokenDto),
      page: { page_size: page.length, cursor: more ? encodeCursor(page[page.length - 1], direction) : null, more },
    };
  }

  /**
   * Revokes a global token the caller may revoke, and every token created through it. Revoking a
   * revoked token answers it again (revoking any descendants still live).
   */
  async revoke(caller: Principal, id: string): Promise<RevokedApiTokenDto> {
    const row = await this.repo.findGlobalById(caller.projects, id);
    if (!row) throw ApiError.notFound('Token not found');
    enforce(mayRevoke(caller, rightsOf(row)));
    enforce(mayManageToken(caller, row.id));
    const revoked = await this.repo.revokeTree(row.id);
    await this.audit.recordRevocation({ action: 'token.revoke', actor: caller, target: tokenTarget(row) }, revoked);
    const after = (await this.repo.findById(caller.projects, row.id)) ?? row;
    return { ...toApiTokenDto(after), revoked_descendants: revoked.filter((r) => r !== row.id).length };
  }
}
