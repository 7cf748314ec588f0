import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DatabaseService } from '../database/database.service.js';
import type { Prisma, Project } from '../generated/prisma/client.js';

export type ProjectRow = Project;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Project ids a caller is confined to; null = every project. */
export type ProjectScope = string[] | null;

/** All Prisma access for projects. Reads take the caller's scope, so "not yours" is "not found". */
@Injectable()
export class ProjectsRepository {
  constructor(private readonly db: DatabaseService) {}

  create(name: string): Promise<ProjectRow> {
    return this.db.prisma.project.create({ data: { id: randomUUID(), name } });
  }

  findById(scope: ProjectScope, id: string): Promise<ProjectRow | null> {
    if (!UUID.test(id) || (scope !== null && !scope.includes(id))) return Promise.resolve(null);
    return this.db.prisma.project.findUnique({ where: { id } });
  }

  /** Keyset pagination over (created_at, id), newest first. */
  page(scope: ProjectScope, limit: number, after?: { createdAt: Date; id: string }): Promise<ProjectRow[]> {
    const where: Prisma.ProjectWhereInput[] = [];
    if (scope !== null) where.push({ id: { in: scope.filter((s) => UUID.test(s)) } });
    if (after) {
      where.push({
        OR: [{ createdAt: { lt: after.createdAt } }, { createdAt: after.createdAt, id: { lt: after.id } }],
      });
    }
    return this.db.prisma.project.findMany({
      where: { AND: where },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit,
    });
  }
}
