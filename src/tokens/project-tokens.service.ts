import { Inject, Injectable } from '@nestjs/common';
import { enforce, mayChange, mayManageToken, maySee } from '../access/policy.js';
import { accessOf, normalizePermissions, type Permission, WRITE_PERMISSIONS } from '../access/permissions.js';
import type { Principal } from '../access/principal.js';
import { type AuditDetails, AuditService, tokenTarget } from '../audit/audit.service.js';
import { canonicalProjectId } from '../access/scope.js';
import { ApiError } from '../common/errors/api-error.js';
import { decodeCursor, encodeCursor } from '../common/http/keyset-cursor.js';
import { isUniqueViolation } from '../common/errors/prisma-errors.js';
import { parseDateTime } from '../common/time.js';
import { validationFailed } from '../common/errors/validation.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import { type AppFieldsData, appFieldsData, appFieldsView } from './app-fields.js';
import { rightsOf } from '../verification/token-rights.js';
import { type TokenRow, TokensRepository } from './tokens.repository.js';
import { TokensService } from './tokens.service.js';
import type {
  CreateProjectTokenDto,
  ListProjectTokensQueryDto,
  ProjectTokenCreatedDto,
  ProjectTokenDto,
  UpdateProjectTokenDto,
} from './http/calyptia/project-tokens.dto.js';
import { ProjectsService } from '../projects/projects.service.js';

/**
 * Permissions as given by a Calyptia client: an empty list means all permissions, so it becomes the
 * four wildcards, explicitly (nothing empty is ever stored, and the caller must hold what it grants).
 */
function requestedPermissions(list: readonly string[]): Permission[] {
  return list.length ? normalizePermissions(list) : [...WRITE_PERMISSIONS];
}

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

const nameTaken = (name: string) => ApiError.conflict('A token with this name already exists in the project', { name });

/** Calyptia-style project tokens: api_tokens rows of kind `project`, confined to their project. */
/** The largest page of a project's token list (`last` above it is served as this many, with a next page). */
const MAX_PROJECT_TOKEN_PAGE = 1000;

@Injectable()
export class ProjectTokensService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly projects: ProjectsService,
    private readonly repo: TokensRepository,
    private readonly tokens: TokensService,
    private readonly audit: AuditService,
  ) {}

  async create(caller: Principal, projectId: string, dto: CreateProjectTokenDto): Promise<ProjectTokenCreatedDto> {
    const project = await this.projects.require(caller, projectId);
    try {
      const { row, token } = await this.tokens.create(caller, {
        kind: 'project',
        permissions: requestedPermissions(dto.permissions),
        projects: [canonicalProjectId(project.id)],
        expiresAt: this.requestedExpiry(dto.expiresAt),
        singleUse: false,
        name: dto.name,
        app: dto,
        auditDetails: (created) => ({ name: dto.name, permissions: created.permissions }),
      });
      return { ...toProjectTokenDto(row), token };
    } catch (e) {
      if (isUniqueViolation(e)) throw nameTaken(dto.name);
      throw e;
    }
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
    // One statement: the project's existence (404) and the page together.
    const found = await this.repo.listProjectTokens(caller.projects, projectId, {
      take: size + 1,
      name: query.name,
      before,
    });
    if (!found) throw ApiError.notFound('Project not found');
    const rows = size === 0 ? [] : found;
    const page = rows.slice(0, size);
    const more = rows.length > size;
    return { items: page.map(toProjectTokenDto), next: more ? encodeCursor(page[page.length - 1]) : null };
  }

  async get(caller: Principal, tokenId: string, projectId?: string): Promise<ProjectTokenDto> {
    return toProjectTokenDto(await this.require(caller, tokenId, projectId));
  }

  /**
   * Calyptia's UpdateToken: a null (or absent) field is left unchanged. Rename, replace the
   * permissions, disable or enable: only on a token the caller may change, into rights inside its own.
   */
  async update(caller: Principal, tokenId: string, dto: UpdateProjectTokenDto, projectId?: string): Promise<void> {
    const row = await this.require(caller, tokenId, projectId);
    const current = rightsOf(row);
    const data: {
      name?: string;
      permissions?: Permission[];
      access?: 'read' | 'write';
      enabled?: boolean;
    } & AppFieldsData = appFieldsData(dto, new Date(), row);
    const next = { ...current };
    if (dto.permissions !== undefined && dto.permissions !== null)
      next.permissions = requestedPermissions(dto.permissions);
    if (data.scopes !== undefined) next.scopes = data.scopes as string[];
    enforce(mayChange(caller, current, next));
    enforce(mayManageToken(caller, row.id));
    if (dto.permissions !== undefined && dto.permissions !== null) {
      data.permissions = [...next.permissions] as Permission[];
      data.access = accessOf(next.permissions);
    }
    if (dto.enabled !== undefined && dto.enabled !== null && dto.enabled !== row.enabled) data.enabled = dto.enabled;
    if (dto.name !== undefined && dto.name !== null) data.name = dto.name;
    if (!Object.keys(data).length) return;
    try {
      if (!(await this.repo.updateProjectToken(row.id, data))) throw ApiError.notFound('Token not found');
      const { enabled, ...changed } = data;
      if (Object.keys(changed).length) {
        const details: AuditDetails = { changed: Object.keys(changed) };
        if (changed.name !== undefined) details.name = changed.name;
        if (changed.permissions !== undefined) details.permissions = changed.permissions;
        if (changed.scopes !== undefined) details.scopes = changed.scopes as string[];
        if (changed.owner !== undefined) details.owner = changed.owner;
        await this.audit.record({ action: 'token.update', actor: caller, target: tokenTarget(row), details });
      }
      if (enabled !== undefined) {
        await this.audit.record({
          action: enabled ? 'token.enable' : 'token.disable',
          actor: caller,
          target: tokenTarget(row),
        });
      }
    } catch (e) {
      if (isUniqueViolation(e)) throw nameTaken(dto.name!);
      throw e;
    }
  }

  /**
   * Delete = revoke, with every token created through it; the number revoked besides it is returned.
   * A token already revoked (deleted) is revoked further: whatever still lives under it is revoked now.
   */
  async remove(caller: Principal, tokenId: string, projectId?: string): Promise<number> {
    const row = await this.require(caller, tokenId, projectId, { revoked: true });
    const revoked = await this.tokens.revoke(caller, row, 'token.delete');
    return revoked.filter((id) => id !== row.id).length;
  }

  /** A live (or, with `revoked`, any) project token the caller sees (its project inside the caller's scope); 404 otherwise. */
  private async require(
    caller: Principal,
    tokenId: string,
    projectId?: string,
    opts: { revoked?: boolean } = {},
  ): Promise<TokenRow> {
    const row = await this.repo.findProjectToken(caller.projects, tokenId, projectId, opts);
    if (!row) throw ApiError.notFound('Token not found');
    enforce(maySee(caller, rightsOf(row)));
    return row;
  }

  private requestedExpiry(value: string | null | undefined): Date | null {
    if (value === undefined || value === null) return null;
    const at = parseDateTime(value);
    if (!at)
      throw validationFailed({ expiresAt: ['expiresAt must be an RFC 3339 date-time, e.g. 2030-12-31T23:59:59Z'] });
    if (at.getTime() <= Date.now()) throw validationFailed({ expiresAt: ['expiresAt must be in the future'] });
    if (at.getTime() > Date.now() + this.config.KEYWARD_MAX_TOKEN_TTL) {
      throw validationFailed({ expiresAt: ['expiresAt is further away than KEYWARD_MAX_TOKEN_TTL allows'] });
    }
    return at;
  }
}
