import { Injectable } from '@nestjs/common';
import { enforce, mayCreateProject } from '../access/policy.js';
import type { Principal } from '../access/principal.js';
import { ApiError } from '../common/api-error.js';
import { isUniqueViolation } from '../common/prisma-errors.js';
import { decodeCursor, encodeCursor } from '../common/keyset-cursor.js';
import { TokenCache } from '../tokens/token-cache.service.js';
import type { CreateProjectDto, ListProjectsQueryDto, ProjectDto } from './dto/projects.dto.js';
import { type ProjectRow, ProjectsRepository } from './projects.repository.js';

export const DEFAULT_PROJECT_PAGE_SIZE = 100;

export function toProjectDto(row: ProjectRow): ProjectDto {
  return { id: row.id, name: row.name, createdAt: row.createdAt.toISOString() };
}

@Injectable()
export class ProjectsService {
  constructor(
    private readonly repo: ProjectsRepository,
    private readonly cache: TokenCache,
  ) {}

  /** Projects are created only by callers confined to no project (policy rule 6). */
  async create(caller: Principal, dto: CreateProjectDto): Promise<ProjectDto> {
    enforce(mayCreateProject(caller));
    try {
      const row = await this.repo.create(dto.name);
      // Tokens-file credentials scoped by project name learn the new project's id on their next use.
      this.cache.clear();
      return toProjectDto(row);
    } catch (e) {
      if (isUniqueViolation(e)) throw ApiError.conflict('A project with this name already exists', { name: dto.name });
      throw e;
    }
  }

  /** One page of the projects the caller may see, and the cursor of the next page (null at the end). */
  async list(caller: Principal, query: ListProjectsQueryDto): Promise<{ items: ProjectDto[]; next: string | null }> {
    const limit = query.limit ?? DEFAULT_PROJECT_PAGE_SIZE;
    const after = query.cursor
      ? decodeCursor(query.cursor, { field: 'cursor', message: 'cursor is not a value returned in X-Next-Cursor' })
      : undefined;
    const rows = await this.repo.page(caller.projects, limit + 1, after);
    const page = rows.slice(0, limit);
    return { items: page.map(toProjectDto), next: rows.length > limit ? encodeCursor(page[page.length - 1]) : null };
  }

  async get(caller: Principal, id: string): Promise<ProjectDto> {
    return toProjectDto(await this.require(caller, id));
  }

  /** The project, if it exists and the caller may act in it; 404 either way otherwise. */
  async require(caller: Principal, id: string): Promise<ProjectRow> {
    const row = await this.repo.findById(caller.projects, id);
    if (!row) throw ApiError.notFound('Project not found');
    return row;
  }
}
