import { Inject, Injectable } from '@nestjs/common';
import { assertCanGrant } from '../access/policy.js';
import { accessOf, ALL_PERMISSIONS, type Permission, WRITE_PERMISSIONS } from '../access/permissions.js';
import type { Principal } from '../access/principal.js';
import { ApiError } from '../common/api-error.js';
import { decodeCursor, encodeCursor } from '../common/keyset-cursor.js';
import { isUniqueViolation } from '../common/prisma-errors.js';
import { validationFailed } from '../common/validation.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import { type TokenRow, TokensRepository } from '../tokens/tokens.repository.js';
import { TokenIssuer } from '../tokens/token-issuer.js';
import type {
  CreateProjectTokenDto,
  ListProjectTokensQueryDto,
  ProjectTokenCreatedDto,
  ProjectTokenDto,
  UpdateProjectTokenDto,
} from './dto/project-tokens.dto.js';
import { ProjectsService } from './projects.service.js';

/** Unique, in the enum's order. */
export function normalizePermissions(list: readonly string[]): Permission[] {
  return ALL_PERMISSIONS.filter((p) => list.includes(p));
}

/**
 * Permissions as given by a Calyptia client: an empty list means all permissions, so it becomes the
 * four wildcards, explicitly (nothing empty is ever stored, and the caller must hold what it grants).
 */
export function requestedPermissions(list: readonly string[]): Permission[] {
  return list.length ? normalizePermissions(list) : [...WRITE_PERMISSIONS];
}

export function toProjectTokenDto(row: TokenRow): ProjectTokenDto {
  return {
    id: row.id,
    token: row.stub,
    name: row.name ?? '',
    permissions: normalizePermissions(row.permissions),
    createdAt: row.createdAt.toISOString(),
    projectID: row.projectId!,
    enabled: row.enabled,
    expiresAt: row.expiresAt ? row.expiresAt.toISOString() : null,
  };
}

const nameTaken = (name: string) => ApiError.conflict('A token with this name already exists in the project', { name });

/** Calyptia-style project tokens: api_tokens rows of kind `project`, confined to their project. */
@Injectable()
export class ProjectTokensService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly projects: ProjectsService,
    private readonly repo: TokensRepository,
    private readonly issuer: TokenIssuer,
  ) {}

  async create(caller: Principal, projectId: string, dto: CreateProjectTokenDto): Promise<ProjectTokenCreatedDto> {
    await this.projects.require(caller, projectId);
    const permissions = requestedPermissions(dto.permissions);
    const expiresAt = assertCanGrant(caller, {
      permissions,
      projects: [projectId],
      expiresAt: this.requestedExpiry(dto.expiresAt),
    });
    try {
      const { row, token } = await this.issuer.issue({
        kind: 'project',
        projectId,
        name: dto.name,
        permissions,
        access: accessOf(permissions),
        createdById: caller.id,
        expiresAt,
      });
      return { ...toProjectTokenDto(row), token };
    } catch (e) {
      if (isUniqueViolation(e)) throw nameTaken(dto.name);
      throw e;
    }
  }

  /**
   * Newest first. `last` is the page size (all tokens without it); `before` continues after the cursor
   * of a previous page. `next` is the cursor of the following page, null at the end.
   */
  async list(
    caller: Principal,
    projectId: string,
    query: ListProjectTokensQueryDto,
  ): Promise<{ items: ProjectTokenDto[]; next: string | null }> {
    await this.projects.require(caller, projectId);
    const before = query.before
      ? decodeCursor(query.before, {
          field: 'before',
          message: 'before is not a cursor returned in the Link or X-Next-Cursor header',
        })
      : undefined;
    const take = query.last === undefined ? undefined : query.last + 1;
    const rows =
      query.last === 0 ? [] : await this.repo.listProjectTokens(projectId, { take, name: query.name, before });
    const page = query.last === undefined ? rows : rows.slice(0, query.last);
    const more = query.last !== undefined && rows.length > query.last;
    return { items: page.map(toProjectTokenDto), next: more ? encodeCursor(page[page.length - 1]) : null };
  }

  async get(caller: Principal, tokenId: string, projectId?: string): Promise<ProjectTokenDto> {
    return toProjectTokenDto(await this.require(caller, tokenId, projectId));
  }

  /** Calyptia's UpdateToken: a null (or absent) field is left unchanged. */
  async update(caller: Principal, tokenId: string, dto: UpdateProjectTokenDto, projectId?: string): Promise<void> {
    const row = await this.require(caller, tokenId, projectId);
    const data: { name?: string; permissions?: Permission[]; access?: 'read' | 'write'; enabled?: boolean } = {};
    if (dto.permissions !== undefined && dto.permissions !== null) {
      data.permissions = requestedPermissions(dto.permissions);
      data.access = accessOf(data.permissions);
      assertCanGrant(caller, { permissions: data.permissions, projects: [row.projectId!] });
    }
    if (dto.enabled !== undefined && dto.enabled !== null && dto.enabled !== row.enabled) {
      // Enabling gives the token's rights back: only a caller who could grant them may do it.
      if (dto.enabled)
        assertCanGrant(caller, { permissions: data.permissions ?? row.permissions, projects: [row.projectId!] });
      data.enabled = dto.enabled;
    }
    if (dto.name !== undefined && dto.name !== null) data.name = dto.name;
    if (!Object.keys(data).length) return;
    try {
      if (!(await this.repo.updateProjectToken(row.id, data))) throw ApiError.notFound('Token not found');
    } catch (e) {
      if (isUniqueViolation(e)) throw nameTaken(dto.name!);
      throw e;
    }
  }

  async remove(caller: Principal, tokenId: string, projectId?: string): Promise<void> {
    const row = await this.require(caller, tokenId, projectId);
    if (!(await this.repo.revokeProjectToken(row))) throw ApiError.notFound('Token not found');
  }

  private async require(caller: Principal, tokenId: string, projectId?: string): Promise<TokenRow> {
    const row = await this.repo.findProjectToken(caller.projects, tokenId, projectId);
    if (!row) throw ApiError.notFound('Token not found');
    return row;
  }

  private requestedExpiry(value: string | null | undefined): Date | null {
    if (value === undefined || value === null) return null;
    const at = new Date(value);
    if (at.getTime() <= Date.now()) throw validationFailed({ expiresAt: ['expiresAt must be in the future'] });
    if (at.getTime() > Date.now() + this.config.KEYWARD_MAX_TOKEN_TTL) {
      throw validationFailed({ expiresAt: ['expiresAt is further away than KEYWARD_MAX_TOKEN_TTL allows'] });
    }
    return at;
  }
}
