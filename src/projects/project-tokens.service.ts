import { Injectable } from '@nestjs/common';
import { assertCanGrant } from '../access/policy.js';
import { accessOf, ALL_PERMISSIONS, type Permission } from '../access/permissions.js';
import type { Principal } from '../access/principal.js';
import { ApiError } from '../common/api-error.js';
import { isUniqueViolation } from '../common/prisma-errors.js';
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

export function toProjectTokenDto(row: TokenRow): ProjectTokenDto {
  return {
    id: row.id,
    token: row.stub,
    name: row.name ?? '',
    permissions: normalizePermissions(row.permissions),
    createdAt: row.createdAt.toISOString(),
  };
}

const nameTaken = (name: string) => ApiError.conflict('A token with this name already exists in the project', { name });

/** Calyptia-style project tokens: api_tokens rows of kind `project`, confined to their project. */
@Injectable()
export class ProjectTokensService {
  constructor(
    private readonly projects: ProjectsService,
    private readonly repo: TokensRepository,
    private readonly issuer: TokenIssuer,
  ) {}

  async create(caller: Principal, projectId: string, dto: CreateProjectTokenDto): Promise<ProjectTokenCreatedDto> {
    await this.projects.require(caller, projectId);
    const permissions = normalizePermissions(dto.permissions);
    const expiresAt = assertCanGrant(caller, { permissions, projects: [projectId] });
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

  async list(caller: Principal, projectId: string, query: ListProjectTokensQueryDto): Promise<ProjectTokenDto[]> {
    const rows = await this.repo.listProjectTokens(caller.projects, projectId, { last: query.last, name: query.name });
    if (!rows) throw ApiError.notFound('Project not found');
    return rows.map(toProjectTokenDto);
  }

  async get(caller: Principal, tokenId: string, projectId?: string): Promise<ProjectTokenDto> {
    return toProjectTokenDto(await this.require(caller, tokenId, projectId));
  }

  async update(caller: Principal, tokenId: string, dto: UpdateProjectTokenDto, projectId?: string): Promise<void> {
    const row = await this.require(caller, tokenId, projectId);
    const data: { name?: string; permissions?: Permission[]; access?: 'read' | 'write' } = {};
    if (dto.permissions !== undefined) {
      data.permissions = normalizePermissions(dto.permissions);
      data.access = accessOf(data.permissions);
      assertCanGrant(caller, { permissions: data.permissions, projects: [row.projectId!] });
    }
    if (dto.name !== undefined) data.name = dto.name;
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
}
