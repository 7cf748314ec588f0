import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DatabaseService } from '../database/database.service.js';
import type { Prisma, Project } from '../generated/prisma/client.js';
import { keysetAfter, type KeysetPosition } from '../common/keyset-cursor.js';
import { isUuid } from '../common/uuid.js';
import { canonicalProjectId, inScope, type Scope } from '../access/scope.js';

export type ProjectRow = Project;

/**
 * Live global tokens narrowed to this project alone (`$1`), revoked at `$2` when it is deleted: found
 * through the scope index (`= ARRAY[…]` is one of its operators), not by walking every global token.
 */
export const REVOKE_NARROWED_TO_PROJECT = `UPDATE api_tokens SET revoked_at = $2::timestamptz
  WHERE scope_projects = ARRAY[$1::text] AND kind = 'global' AND revoked_at IS NULL`;

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
  page(scope: Scope, limit: number, after?: KeysetPosition, name?: string): Promise<ProjectRow[]> {
    const where: Prisma.ProjectWhereInput[] = [];
    if (name !== undefined) where.push({ name });
    if (scope !== null) where.push({ id: { in: [...scope] } });
    if (after) where.push(keysetAfter(after, 'desc'));
    return this.db.prisma.project.findMany({
      where: { AND: where },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit,
    });
  }

  /** Renames a project; false if it no longer exists. */
  async rename(id: string, name: string): Promise<boolean> {
    const { count } = await this.db.prisma.project.updateMany({ where: { id }, data: { name } });
    return count === 1;
  }

  /**
   * Deletes a project in one transaction: first revokes every live token confined to it (its project
   * tokens, and global tokens narrowed to this project alone), so that every instance's cache learns
   * of it through the change notification, then deletes the project (its token rows go with it).
   * Returns the deletion time, or null if the project was already gone.
   */
  async deleteWithTokens(id: string): Promise<Date | null> {
    const now = new Date();
    const [, , deleted] = await this.db.prisma.$transaction([
      this.db.prisma.apiToken.updateMany({ where: { projectId: id, revokedAt: null }, data: { revokedAt: now } }),
      this.db.prisma.$executeRawUnsafe(REVOKE_NARROWED_TO_PROJECT, id, now),
      this.db.prisma.project.deleteMany({ where: { id } }),
    ]);
    return deleted.count === 1 ? now : null;
  }
}
