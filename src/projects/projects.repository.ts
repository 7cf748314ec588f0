import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { type AuditInsert, insertAuditRows } from '../audit/audit.repository.js';
import { DatabaseService } from '../database/database.service.js';
import type { Prisma, Project } from '../generated/prisma/client.js';
import { keysetAfter, type KeysetPosition } from '../common/http/keyset-cursor.js';
import { isUuid } from '../common/uuid.js';
import { projectVisible } from '../access/policy.js';
import { canonicalProjectId, type Scope } from '../access/scope.js';

export type ProjectRow = Project;

/** A token a project deletion revoked, with the project it belongs to (null: a global token). */
export interface RevokedToken {
  id: string;
  projectId: string | null;
}

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
    if (!isUuid(id) || !projectVisible(scope, id)) return Promise.resolve(null);
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

  /** Renames a project (remembering that it was renamed); false if it no longer exists. */
  async rename(id: string, name: string): Promise<boolean> {
    const { count } = await this.db.prisma.project.updateMany({ where: { id }, data: { name, renamedAt: new Date() } });
    return count === 1;
  }

  /**
   * Deletes a project in one transaction: locks it, revokes every live token confined to it (its project
   * tokens, and global tokens narrowed to this project alone) with every token created through them, so
   * that every instance's cache learns of it through the change notification, then deletes the project
   * (its project token rows go with it), and writes the audit rows `audit` makes of the revoked tokens:
   * one commit for all of it. Returns the deletion time and the ids of the tokens revoked (with their
   * project), or null if the project was already gone.
   */
  async deleteWithTokens(
    id: string,
    audit: (revoked: RevokedToken[]) => AuditInsert[],
  ): Promise<{ deletedAt: Date; revoked: RevokedToken[] } | null> {
    return this.db.sql.transaction(async (tx) => {
      const [project] = await tx.query<{ id: string }>('SELECT id FROM projects WHERE id = $1::uuid FOR UPDATE', [id]);
      if (!project) return null;
      const revoked = await tx.query<{ id: string; project_id: string | null }>(
        `WITH RECURSIVE tree(id, depth) AS (
           SELECT id, 0 FROM api_tokens
            WHERE project_id = $1::uuid OR (kind = 'global' AND scope_projects = ARRAY[$1::text])
           UNION
           SELECT t.id, tree.depth + 1 FROM api_tokens t JOIN tree ON t.created_by_id = tree.id::text
            WHERE tree.depth < 64
         )
         UPDATE api_tokens a SET revoked_at = now()
           FROM (SELECT DISTINCT id FROM tree) d WHERE a.id = d.id AND a.revoked_at IS NULL
         RETURNING a.id::text AS id, a.project_id::text AS project_id`,
        [id],
      );
      const [{ now }] = await tx.query<{ now: Date }>(
        'DELETE FROM projects WHERE id = $1::uuid RETURNING now() AS now',
        [id],
      );
      const tokens = revoked.map((r) => ({ id: r.id, projectId: r.project_id }));
      await insertAuditRows(tx, audit(tokens));
      return { deletedAt: new Date(now), revoked: tokens };
    });
  }
}
