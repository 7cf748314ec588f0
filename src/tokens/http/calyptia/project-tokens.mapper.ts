import { Inject, Injectable } from '@nestjs/common';
import { normalizePermissions, requestedPermissions, WRITE_PERMISSIONS } from '../../../access/permissions.js';
import type { Principal } from '../../../access/principal.js';
import { decodeCursor, encodeCursor } from '../../../common/http/keyset-cursor.js';
import { APP_CONFIG } from '../../../config/config.module.js';
import type { AppConfig } from '../../../config/config.schema.js';
import { appFieldsView } from '../../app-fields.js';
import { requestedExpiry } from '../../requested-expiry.js';
import type { TokenRow } from '../../tokens.repository.js';
import { type TokenChange, TokensService } from '../../tokens.service.js';
import type {
  CreateProjectTokenDto,
  ListProjectTokensQueryDto,
  ProjectTokenCreatedDto,
  ProjectTokenDto,
  UpdateProjectTokenDto,
} from './project-tokens.dto.js';

/** The largest page of a project's token list (`last` above it is served as this many, with a next page). */
const MAX_PROJECT_TOKEN_PAGE = 1000;

function toProjectTokenDto(row: TokenRow): ProjectTokenDto {
  return {
    id: row.id,
    token: row.stub,
    name: row.name ?? '',
    permissions: normalizePermissions(row.permissions),
    createdAt: row.createdAt.toISOString(),
    projectID: row.projectId!,
    enabled: row.enabled,
    expiresAt: row.expiresAt ? row.expiresAt.toISOString() : null,
    ...appFieldsView(row),
  };
}

/** Calyptia's UpdateToken body as a change: a null field, like an absent one, is left unchanged. */
function toTokenChange(dto: UpdateProjectTokenDto): TokenChange {
  return {
    name: dto.name ?? undefined,
    permissions:
      dto.permissions === undefined || dto.permissions === null
        ? undefined
        : requestedPermissions({ permissions: dto.permissions }, WRITE_PERMISSIONS),
    enabled: dto.enabled ?? undefined,
    app: dto,
  };
}

/**
 * Calyptia-style project tokens (api_tokens rows of kind `project`, confined to their project): the
 * Calyptia bodies and answers mapped onto TokensService, which holds the rules, policy and audit.
 */
@Injectable()
export class ProjectTokensMapper {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly tokens: TokensService,
  ) {}

  async create(caller: Principal, projectId: string, dto: CreateProjectTokenDto): Promise<ProjectTokenCreatedDto> {
    const { row, token } = await this.tokens.createInProject(caller, projectId, () => ({
      permissions: requestedPermissions({ permissions: dto.permissions }, WRITE_PERMISSIONS),
      expiresAt: requestedExpiry(dto.expiresAt, this.config.KEYWARD_MAX_TOKEN_TTL, {
        field: 'expiresAt',
        example: '2030-12-31T23:59:59Z',
      }),
      singleUse: false,
      name: dto.name,
      app: dto,
      auditDetails: (created) => ({ name: dto.name, permissions: created.permissions }),
    }));
    return { ...toProjectTokenDto(row), token };
  }

  /**
   * Newest first. `last` is the page size (KEYWARD_DEFAULT_PAGE_SIZE without it, at most
   * MAX_PROJECT_TOKEN_PAGE: a larger `last` gets that many and a next page); `before` continues after
   * the cursor of a previous page. `next` is the cursor of the following page, null at the end.
   */
  async list(
    caller: Principal,
    projectId: string,
    query: ListProjectTokensQueryDto,
  ): Promise<{ items: ProjectTokenDto[]; next: string | null }> {
    const before = query.before
      ? decodeCursor(query.before, {
          field: 'before',
          message: 'before is not a cursor returned in the Link or X-Next-Cursor header',
        })
      : undefined;
    const size = Math.min(query.last ?? this.config.KEYWARD_DEFAULT_PAGE_SIZE, MAX_PROJECT_TOKEN_PAGE);
    const found = await this.tokens.listProjectTokens(caller, projectId, { take: size + 1, name: query.name, before });
    const rows = size === 0 ? [] : found;
    const page = rows.slice(0, size);
    const more = rows.length > size;
    return { items: page.map(toProjectTokenDto), next: more ? encodeCursor(page[page.length - 1]) : null };
  }

  async get(caller: Principal, tokenId: string, projectId?: string): Promise<ProjectTokenDto> {
    return toProjectTokenDto(await this.tokens.findProjectToken(caller, tokenId, projectId));
  }

  /** Calyptia's UpdateToken: rename, replace the permissions, disable or enable (null fields: unchanged). */
  async update(caller: Principal, tokenId: string, dto: UpdateProjectTokenDto, projectId?: string): Promise<void> {
    const row = await this.tokens.findProjectToken(caller, tokenId, projectId);
    await this.tokens.update(caller, row, toTokenChange(dto));
  }

  /**
   * Delete = revoke, with every token created through it; the number revoked besides it is returned.
   * A token already revoked (deleted) is revoked further: whatever still lives under it is revoked now.
   */
  async remove(caller: Principal, tokenId: string, projectId?: string): Promise<number> {
    const row = await this.tokens.findProjectToken(caller, tokenId, projectId, { revoked: true });
    const revoked = await this.tokens.revoke(caller, row, 'token.delete');
    return revoked.filter((id) => id !== row.id).length;
  }
}
