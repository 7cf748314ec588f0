import { Injectable } from '@nestjs/common';
import { DatabaseService } from '../database/database.service.js';
import { Prisma } from '../generated/prisma/client.js';
import type { TokenRow } from '../verification/verification.repository.js';
import type { Scope } from '../access/scope.js';
import { canonicalProjectId, inScope } from '../access/scope.js';
import { TokenCache } from '../verification/token-cache.service.js';
import type { Direction, KeysetPosition } from '../common/keyset-cursor.js';
import { isUuid } from '../common/uuid.js';
import { camelRow } from '../database/rows.js';

export type { TokenRow } from '../verification/verification.repository.js';

export interface PageQuery {
  limit: number;
  after?: KeysetPosition;
  direction: Direction;
}

/** Filters of the Publisher-style list. */
export interface GlobalTokenFilter {
  /** Only tokens whose scope lies inside this one (null: every token). */
  within: Scope;
  access?: 'read' | 'write';
  status?: 'active' | 'expired' | 'revoked';
  now: Date;
}

/** Every column of api_tokens under its TokenRow name, for raw statements. */
const TOKEN_COLUMNS = Prisma.sql`id::text AS "id", lookup_id AS "lookupId", secret_hash AS "secretHash", stub, kind::text AS "kind",
  access::text AS "access", permissions, project_id::text AS "projectId", scope_projects AS "scopeProjects", name, description,
  created_by_id AS "createdById", created_at AS "createdAt", expires_at AS "expiresAt", revoked_at AS "revokedAt",
  remove_on_use AS "removeOnUse", used_at AS "usedAt", last_used_at AS "lastUsedAt",
  previous_secret_hash AS "previousSecretHash", previous_expires_at AS "previousExpiresAt", enabled`;

/** All Prisma access for tokens. Scoped reads take the owner with the id, so "not yours" is "not found". */
@Injectable()
export class TokensRepository {
  constructor(
    private readonly db: DatabaseService,
    private readonly cache: TokenCache,
  ) {}

  private get prisma() {
    return this.db.prisma;
  }

  create(data: Prisma.ApiTokenUncheckedCreateInput): Promise<TokenRow> {
    return this.prisma.apiToken.create({ data });
  }

  findGlobalById(id: string): Promise<TokenRow | null> {
    return this.prisma.apiToken.findFirst({ where: { id, kind: 'global' } });
  }

  findById(id: string): Promise<TokenRow | null> {
    return this.prisma.apiToken.findUnique({ where: { id } });
  }

  /**
   * Global tokens, keyset-paginated over (created_at, id), in one statement. Scope containment
   * (`scope_projects <@ within`) has no Prisma filter, hence SQL.
   */
  async pageGlobal(filter: GlobalTokenFilter, page: PageQuery): Promise<TokenRow[]> {
    const where: Prisma.Sql[] = [Prisma.sql`kind = 'global'`];
    if (filter.within !== null) {
      const ids = [...filter.within];
      where.push(Prisma.sql`cardinality(scope_projects) > 0 AND scope_projects <@ ${ids}::text[]`);
    }
    if (filter.access) where.push(Prisma.sql`access = ${filter.access}::"TokenAccess"`);
    if (filter.status === 'active') {
      where.push(
        Prisma.sql`revoked_at IS NULL AND used_at IS NULL AND (expires_at IS NULL OR expires_at > ${filter.now})`,
      );
    } else if (filter.status === 'revoked') where.push(Prisma.sql`revoked_at IS NOT NULL`);
    else if (filter.status === 'expired') where.push(Prisma.sql`revoked_at IS NULL AND expires_at <= ${filter.now}`);
    const desc = page.direction === 'desc';
    if (page.after) {
      const { createdAt, id } = page.after;
      where.push(
        desc
          ? Prisma.sql`(created_at, id) < (${createdAt}::timestamptz, ${id}::uuid)`
          : Prisma.sql`(created_at, id) > (${createdAt}::timestamptz, ${id}::uuid)`,
      );
    }
    const order = desc ? Prisma.sql`created_at DESC, id DESC` : Prisma.sql`created_at ASC, id ASC`;
    return this.prisma.$queryRaw<TokenRow[]>`SELECT ${TOKEN_COLUMNS} FROM api_tokens
      WHERE ${Prisma.join(where, ' AND ')} ORDER BY ${order} LIMIT ${page.limit}`;
  }

  /**
   * Revokes a token and every token created through it, recursively (the token tree), in one
   * statement; project tokens give their name back. Already revoked tokens stay as they are (their
   * descendants are still revoked). Returns the ids revoked now.
   */
  async revokeTree(id: string): Promise<string[]> {
    const rows = await this.prisma.$queryRaw<Array<{ id: string }>>`
      WITH RECURSIVE tree(id) AS (
        SELECT id FROM api_tokens WHERE id = ${id}::uuid
        UNION
        SELECT t.id FROM api_tokens t JOIN tree ON t.created_by_id = tree.id::text
      )
      UPDATE api_tokens a SET revoked_at = now(),
        name = CASE WHEN a.kind = 'project' THEN NULL ELSE a.name END,
        description = CASE WHEN a.kind = 'project' THEN COALESCE(a.description, a.name) ELSE a.description END
      FROM tree WHERE a.id = tree.id AND a.revoked_at IS NULL
      RETURNING a.id::text AS id`;
    for (const r of rows) this.cache.invalidate(r.id);
    return rows.map((r) => r.id);
  }

  /**
   * Gives a token a new secret hash, only if its hash is still `expectedHash` (so of two concurrent
   * rotations exactly one wins; the other gets null). `previous*` keep the old secret valid for a grace.
   */
  async rotateSecret(
    id: string,
    expectedHash: string,
    data: { secretHash: string; previousSecretHash: string | null; previousExpiresAt: Date | null },
  ): Promise<TokenRow | null> {
    const { count } = await this.prisma.apiToken.updateMany({
      where: { id, secretHash: expectedHash, revokedAt: null },
      data,
    });
    if (count) this.cache.invalidate(id);
    return count === 1 ? this.prisma.apiToken.findUnique({ where: { id } }) : null;
  }

  /**
   * A live (unrevoked) project token, only if it belongs to one of `projects` (null = any project)
   * and, when given, to `projectId`: anything else is null, i.e. "not found".
   */
  findProjectToken(id: string, projectId?: string): Promise<TokenRow | null> {
    return this.prisma.apiToken.findFirst({
      where: {
        id,
        kind: 'project',
        revokedAt: null,
        ...(projectId ? { projectId: canonicalProjectId(projectId) } : {}),
      },
    });
  }

  /**
   * A project's live tokens, newest first, after `before` when given (`take` keeps N, `name` matches
   * exactly), or null when the project does not exist or is outside `scope` (null = every project). One
   * statement: the project's existence is the outer row of a lateral join (an empty page: one row of NULLs).
   */
  async listProjectTokens(
    scope: Scope,
    projectId: string,
    opts: { take?: number; name?: string; before?: KeysetPosition } = {},
  ): Promise<TokenRow[] | null> {
    if (!isUuid(projectId) || !inScope(scope, projectId)) return null;
    const rows = await this.db.sql.prepared(
      'project_token_list',
      `SELECT p.id AS project_exists, t.*
         FROM projects p
         LEFT JOIN LATERAL (
           SELECT * FROM api_tokens
            WHERE project_id = p.id AND kind = 'project' AND revoked_at IS NULL
              AND ($2::text IS NULL OR name = $2::text)
              AND ($4::timestamptz IS NULL OR (created_at, id) < ($4::timestamptz, $5::uuid))
            ORDER BY created_at DESC, id DESC
            LIMIT $3::int
         ) t ON true
        WHERE p.id = $1::uuid`,
      [
        canonicalProjectId(projectId),
        opts.name ?? null,
        opts.take ?? null,
        opts.before?.createdAt ?? null,
        opts.before?.id ?? null,
      ],
    );
    if (!rows.length) return null;
    if (rows[0].id === null) return [];
    return rows.map((r) => camelRow<TokenRow>(r, 'project_exists'));
  }

  /** Updates a live project token; false if it was revoked (or deleted) meanwhile. */
  async updateProjectToken(
    id: string,
    data: Pick<Prisma.ApiTokenUpdateManyMutationInput, 'name' | 'permissions' | 'access' | 'enabled'>,
  ): Promise<boolean> {
    const { count } = await this.prisma.apiToken.updateMany({ where: { id, kind: 'project', revokedAt: null }, data });
    if (count) this.cache.invalidate(id);
    return count === 1;
  }

  /**
   * Switches a live token on or off (`where` narrows it to the caller's reach); the row after the change,
   * or null if there is no such live token.
   */
  async setEnabled(id: string, enabled: boolean, where: Prisma.ApiTokenWhereInput = {}): Promise<TokenRow | null> {
    const { count } = await this.prisma.apiToken.updateMany({
      where: { ...where, id, revokedAt: null },
      data: { enabled },
    });
    if (count) this.cache.invalidate(id);
    return count ? this.prisma.apiToken.findFirst({ where: { ...where, id } }) : null;
  }
}
