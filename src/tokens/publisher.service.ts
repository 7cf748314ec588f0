import { Inject, Injectable } from '@nestjs/common';
import { READ_PERMISSIONS, requestedPermissions } from '../access/permissions.js';
import type { Principal } from '../access/principal.js';
import { ApiError } from '../common/errors/api-error.js';
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
import { iso, toApiTokenDto } from './token-views.js';
import { type GlobalTokenFilter, TokensRepository } from './tokens.repository.js';
import { requestedExpiry } from './requested-expiry.js';
import { TokensService } from './tokens.service.js';

/** The Publisher-style RPC API: create, list, revoke, disable and enable global tokens. */
@Injectable()
export class PublisherService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly repo: TokensRepository,
    private readonly tokens: TokensService,
  ) {}

  async create(caller: Principal, dto: CreateApiTokenDto): Promise<ApiTokenCreatedDto> {
    // An empty expires_at, like an absent one, asks for no expiry.
    const requested = requestedExpiry(dto.expires_at || null, this.config.KEYWARD_MAX_TOKEN_TTL, {
      field: 'expires_at',
    });
    const { row, token } = await this.tokens.create(caller, {
      kind: 'global',
      permissions: requestedPermissions({ access: dto.access }, READ_PERMISSIONS),
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
    const revoked = await this.tokens.revoke(caller, row, 'token.revoke');
    const after = (await this.repo.findById(caller.projects, row.id)) ?? row;
    return { ...toApiTokenDto(after), revoked_descendants: revoked.filter((r) => r !== row.id).length };
  }

  /**
   * Disables or enables a global token without revoking it (like a tokens file's `enabled: false`): a
   * disabled token gets 401 and verify reports DISABLED; enabling restores it. A switch: written and
   * audited even when the token already is so.
   */
  async setEnabled(caller: Principal, id: string, enabled: boolean): Promise<ApiTokenDto> {
    const row = await this.repo.findGlobalById(caller.projects, id);
    if (!row) throw ApiError.notFound('Token not found');
    return toApiTokenDto(await this.tokens.update(caller, row, { enabled, switch: true }));
  }
}
