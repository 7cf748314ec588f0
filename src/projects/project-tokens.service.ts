import { Injectable } from '@nestjs/common';
import { enforce, grantWithin, mayChange, mayRevoke, maySee } from '../access/policy.js';
import { accessOf, normalizePermissions, type Permission } from '../access/permissions.js';
import type { Principal } from '../access/principal.js';
import { canonicalProjectId } from '../access/scope.js';
import { ApiError } from '../common/api-error.js';
import { isUniqueViolation } from '../common/prisma-errors.js';
import { TokenIssuer } from '../tokens/token-issuer.js';
import { rightsOf } from '../tokens/token-rights.js';
import { type TokenRow, TokensRepository } from '../tokens/tokens.repository.js';
import type {
  CreateProjectTokenDto,
  ListProjectTokensQueryDto,
  ProjectTokenCreatedDto,
  ProjectTokenDto,
  UpdateProjectTokenDto,
} from './dto/project-tokens.dto.js';
import { ProjectsService } from './projects.service.js';

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
    const project = await this.projects.require(caller, projectId);
    const { decision, rights } = grantWithin(caller, {
      permissions: normalizePermissions(dto.permissions),
      projects: [canonicalProjectId(project.id)],
      expiresAt: null,
      singleUse: false,
    });
    enforce(decision);
    try {
      const { row, token } = await this.issuer.issue(caller, rights, { kind: 'project', name: dto.name });
      return { ...toProjectTokenDto(row), token };
    } catch (e) {
      if (isUniqueViolation(e)) throw nameTaken(dto.name);
      throw e;
    }
  }

  async list(caller: Principal, projectId: string, query: ListProjectTokensQueryDto): Promise<ProjectTokenDto[]> {
    const project = await this.projects.require(caller, projectId);
    const rows = await this.repo.listProjectTokens(project.id, { last: query.last, name: query.name });
    return rows.map(toProjectTokenDto);
  }

  async get(caller: Principal, tokenId: string, projectId?: string): Promise<ProjectTokenDto> {
    return toProjectTokenDto(await this.require(caller, tokenId, projectId));
  }

  /** Rename or replace the permissions: only on a token the caller may change, into rights inside its own. */
  async update(caller: Principal, tokenId: string, dto: UpdateProjectTokenDto, projectId?: string): Promise<void> {
    const row = await this.require(caller, tokenId, projectId);
    const current = rightsOf(row);
    const data: { name?: string; permissions?: Permission[]; access?: 'read' | 'write' } = {};
    const next = { ...current };
    if (dto.permissions !== undefined) next.permissions = normalizePermissions(dto.permissions);
    enforce(mayChange(caller, current, next));
    if (dto.permissions !== undefined) {
      data.permissions = [...next.permissions] as Permission[];
      data.access = accessOf(next.permissions);
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

  /** Delete = revoke, with every token created through it; the number revoked besides it is returned. */
  async remove(caller: Principal, tokenId: string, projectId?: string): Promise<number> {
    const row = await this.require(caller, tokenId, projectId);
    enforce(mayRevoke(caller, rightsOf(row)));
    const revoked = await this.repo.revokeTree(row.id);
    if (!revoked.includes(row.id)) throw ApiError.notFound('Token not found');
    return revoked.length - 1;
  }

  /** A live project token the caller sees (its project inside the caller's scope); 404 otherwise. */
  private async require(caller: Principal, tokenId: string, projectId?: string): Promise<TokenRow> {
    const row = await this.repo.findProjectToken(tokenId, projectId);
    if (!row) throw ApiError.notFound('Token not found');
    enforce(maySee(caller, rightsOf(row)));
    return row;
  }
}
