import { Injectable } from '@nestjs/common';
import { enforce, mayCreateProject, mayRenameProject } from '../access/policy.js';
import type { Principal } from '../access/principal.js';
import { type AuditRecord, AuditService, projectTarget } from '../audit/audit.service.js';
import { ApiError } from '../common/errors/api-error.js';
import { isUniqueViolation } from '../common/errors/prisma-errors.js';
import { decodeCursor, encodeCursor } from '../common/http/keyset-cursor.js';
import { validationFailed } from '../common/errors/validation.js';
import type {
  CreateProjectDto,
  DeletedDto,
  ListProjectsQueryDto,
  ProjectDto,
  UpdateProjectDto,
} from './dto/projects.dto.js';
import { type ProjectRow, ProjectsRepository, type RevokedToken } from './projects.repository.js';

const DEFAULT_PROJECT_PAGE_SIZE = 100;

/** A project deletion as the audit trail records it: the deletion, then each token it revoked. */
function deletionEvents(caller: Principal, project: ProjectRow, revoked: readonly RevokedToken[]): AuditRecord[] {
  return [
    {
      action: 'project.delete',
      actor: caller,
      target: projectTarget(project.id),
      details: { name: project.name, revoked_tokens: revoked.length },
    },
    ...revoked.map((t) => ({
      action: 'token.revoke' as const,
      actor: caller,
      target: { type: 'token' as const, id: t.id, projectId: t.projectId ?? project.id },
      details: { via: `project:${project.id}` },
    })),
  ];
}

function toProjectDto(row: ProjectRow): ProjectDto {
  return { id: row.id, name: row.name, createdAt: row.createdAt.toISOString() };
}

@Injectable()
export class ProjectsService {
  constructor(
    private readonly repo: ProjectsRepository,
    private readonly audit: AuditService,
  ) {}

  /** Projects are created only by callers confined to no project (policy rule 6). */
  async create(caller: Principal, dto: CreateProjectDto): Promise<ProjectDto> {
    enforce(mayCreateProject(caller));
    try {
      // Tokens-file credentials scoped by project name learn the new project's id on their next use
      // (the projects trigger's notification drops their cached results).
      const row = await this.repo.create(dto.name);
      await this.audit.record({
        action: 'project.create',
        actor: caller,
        target: projectTarget(row.id),
        details: { name: row.name },
      });
      return toProjectDto(row);
    } catch (e) {
      if (isUniqueViolation(e)) throw ApiError.conflict('A project with this name already exists', { name: dto.name });
      throw e;
    }
  }

  /**
   * One page of the projects the caller may see, and the cursor of the next page (null at the end).
   * Calyptia's `last` + `before` and Keyward's `limit` + `cursor` are the same paging.
   */
  async list(caller: Principal, query: ListProjectsQueryDto): Promise<{ items: ProjectDto[]; next: string | null }> {
    if (query.before !== undefined && query.cursor !== undefined) {
      throw validationFailed({ before: ['give either before or cursor, not both'] });
    }
    if (query.last !== undefined && query.limit !== undefined) {
      throw validationFailed({ last: ['give either last or limit, not both'] });
    }
    const limit = query.last ?? query.limit ?? DEFAULT_PROJECT_PAGE_SIZE;
    const cursor = query.before ?? query.cursor;
    const field = query.before !== undefined ? 'before' : 'cursor';
    const after = cursor
      ? decodeCursor(cursor, {
          field,
          message: `${field} is not a cursor returned in the Link or X-Next-Cursor header`,
        })
      : undefined;
    if (limit === 0) return { items: [], next: null };
    const rows = await this.repo.page(caller.projects, limit + 1, after, query.name);
    const page = rows.slice(0, limit);
    return { items: page.map(toProjectDto), next: rows.length > limit ? encodeCursor(page[page.length - 1]) : null };
  }

  /**
   * Renames a project (null or absent name: nothing changes). Names are one namespace over every
   * project, so only callers that see every project rename (a confined caller would learn from a
   * conflict that a project outside its scope bears the name).
   */
  async update(caller: Principal, id: string, dto: UpdateProjectDto): Promise<void> {
    const row = await this.require(caller, id);
    if (dto.name === undefined || dto.name === null || dto.name === row.name) return;
    enforce(mayRenameProject(caller));
    try {
      if (!(await this.repo.rename(row.id, dto.name))) throw ApiError.notFound('Project not found');
    } catch (e) {
      if (isUniqueViolation(e)) throw ApiError.conflict('A project with this name already exists', { name: dto.name });
      throw e;
    }
    // Tokens files scope by project name: the projects trigger's notification drops their cached results.
    await this.audit.record({
      action: 'project.rename',
      actor: caller,
      target: projectTarget(row.id),
      details: { from: row.name, to: dto.name },
    });
  }

  /**
   * Deletes a project and revokes the tokens confined to it, with every token created through them.
   * Deleting a project is what `delete:project` grants, whatever those tokens hold: each one it ends is
   * audited (`token.revoke`, `details.via` the project) next to the `project.delete` event.
   */
  async remove(caller: Principal, id: string): Promise<DeletedDto> {
    const row = await this.require(caller, id);
    let audited: { announce: () => void } | undefined;
    // The audit rows commit with the deletion; webhooks hear of them once it has committed.
    const deleted = await this.repo.deleteWithTokens(row.id, (revoked) => {
      const recorded = this.audit.inTransaction(deletionEvents(caller, row, revoked));
      audited = recorded;
      return recorded.rows;
    });
    if (!deleted) throw ApiError.notFound('Project not found');
    audited?.announce();
    return { deleted: true, deletedAt: deleted.deletedAt.toISOString() };
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
