import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DatabaseService } from '../database/database.service.js';
import type { Prisma, Project } from '../generated/prisma/client.js';
import { keysetAfter, type KeysetPosition } from '../common/keyset-cursor.js';
import { isUuid } from '../common/uuid.js';
import { canonicalProjectId, inScope, type Scope } from '../access/scope.js';

export type ProjectRow = Project;

/** All Prisma access for projects. Reads take the caller's scope, so "not yours" is "not found". */
@Injectable()
export class ProjectsRepository {
  constructor(private readonly db: DatabaseService) {}

  create(name: string): Promise<ProjectRow> {
    return this.db.prisma.project.create({ data: { id: randomUUID(), name } });
  }

  findById(scope: Scope, id: string): Promise<ProjectRow | null> {
    if (!isUuid(id) || !inScope(scope, id)) return Promise.resolve(null);
    return this.db.prisma.project.findUnique({ where: { id: canonicalProjectId(id) } });
  }

  /** Keyset pagination over (created_at, id), newest first. */
  page(scope: Scope, limit: number, after?: KeysetPosition): Promise<ProjectRow[]> {
    const where: Prisma.ProjectWhereInput[] = [];
    if (scope !== null) where.push({ id: { in: [...scope] } });
    if (after) where.push(keysetAfter(after, 'desc'));
    return this.db.prisma.project.findMany({
      where: { AND: where },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit,
    });
  }
}
