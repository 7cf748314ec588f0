import { Injectable } from '@nestjs/common';
import { DatabaseService } from '../database/database.service.js';
import type { ApiToken, Prisma } from '../generated/prisma/client.js';
import { TokenCache } from './token-cache.service.js';
import { type Direction, keysetAfter, type KeysetPosition } from '../common/keyset-cursor.js';
import { isUuid } from '../common/uuid.js';
import { camelRow } from '../database/rows.js';

export type TokenRow = ApiToken;

export interface PageQuery {
  limit: number;
  after?: KeysetPosition;
  direction: Direction;
}

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

  /** The verification lookup: one indexed read through the driver (no ORM on the hot path). */
  async findByLookupId(lookupId: string): Promise<TokenRow | null> {
    const rows = await this.db.sql.prepared('token_by_lookup_id', 'SELECT * FROM api_tokens WHERE lookup_id = $1', [
      lookupId,
    ]);
    return rows.length ? camelRow<TokenRow>(rows[0]) : null;
  }

  findGlobalById(id: string): Promise<TokenRow | null> {
    return this.prisma.apiToken.findFirst({ where: { id, kind: 'global' } });
  }

  findById(id: string): Promise<TokenRow | null> {
    return this.prisma.apiToken.findUnique({ where: { id } });
  }

  /** Keyset pagination over (created_at, id). */
  async pageGlobal(where: Prisma.ApiTokenWhereInput, page: PageQuery): Promise<TokenRow[]> {
    const after = page.after && keysetAfter(page.after, page.direction);
    return this.prisma.apiToken.findMany({
      where: { AND: [{ kind: 'global' }, where, ...(after ? [after] : [])] },
      orderBy: [{ createdAt: page.direction }, { id: page.direction }],
      take: page.limit,
    });
  }

  /** Revokes a token if it is not revoked yet; returns the row either way (null if unknown). */
  async revoke(id: string, where: Prisma.ApiTokenWhereInput = {}): Promise<TokenRow | null> {
    const { count } = await this.prisma.apiToken.updateMany({
      where: { ...where, id, revokedAt: null },
      data: { revokedAt: new Date() },
    });
    if (count) this.cache.invalidate(id);
    return this.prisma.apiToken.findFirst({ where: { ...where, id } });
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
   * Consumes a single-use token in one atomic statement: exactly one caller gets `true`, whatever the
   * concurrency (the row is updated only while `used_at IS NULL`).
   */
  async consumeSingleUse(id: string): Promise<boolean> {
    const { count } = await this.prisma.apiToken.updateMany({
      where: { id, removeOnUse: true, usedAt: null, revokedAt: null },
      data: { usedAt: new Date() },
    });
    this.cache.invalidate(id);
    return count === 1;
  }

  /**
   * A live (unrevoked) project token, only if it belongs to one of `projects` (null = any project)
   * and, when given, to `projectId`: anything else is null, i.e. "not found".
   */
  findProjectToken(projects: string[] | null, id: string, projectId?: string): Promise<TokenRow | null> {
    const where: Prisma.ApiTokenWhereInput[] = [{ id, kind: 'project', revokedAt: null }];
    // Tokens files may scope by project name: only ids can match a project_id (a uuid column).
    if (projects !== null) where.push({ projectId: { in: projects.filter((p) => isUuid(p)) } });
    if (projectId) where.push({ projectId });
    return this.prisma.apiToken.findFirst({ where: { AND: where } });
  }

  /**
   * A project's live tokens, newest first (`last` keeps the newest N, `name` matches exactly), or null
   * when the project does not exist or is outside `scope` (null = every project). One statement: the
   * project's existence is the outer row of a lateral join, so an empty project gives one row of NULLs.
   */
  async listProjectTokens(
    scope: string[] | null,
    projectId: string,
    opts: { last?: number; name?: string } = {},
  ): Promise<TokenRow[] | null> {
    if (!isUuid(projectId) || (scope !== null && !scope.includes(projectId))) return null;
    const rows = await this.db.sql.prepared(
      'project_token_list',
      `SELECT p.id AS project_exists, t.*
         FROM projects p
         LEFT JOIN LATERAL (
           SELECT * FROM api_tokens
            WHERE project_id = p.id AND kind = 'project' AND revoked_at IS NULL
              AND ($2::text IS NULL OR name = $2::text)
            ORDER BY created_at DESC, id DESC
            LIMIT $3::int
         ) t ON true
        WHERE p.id = $1::uuid`,
      [projectId, opts.name ?? null, opts.last ?? null],
    );
    if (!rows.length) return null;
    if (rows[0].id === null) return [];
    return rows.map((r) => camelRow<TokenRow>(r, 'project_exists'));
  }

  /** Updates a live project token; false if it was revoked (or deleted) meanwhile. */
  async updateProjectToken(
    id: string,
    data: Pick<Prisma.ApiTokenUpdateManyMutationInput, 'name' | 'permissions' | 'access'>,
  ): Promise<boolean> {
    const { count } = await this.prisma.apiToken.updateMany({ where: { id, kind: 'project', revokedAt: null }, data });
    if (count) this.cache.invalidate(id);
    return count === 1;
  }

  /**
   * Revokes a live project token. Its name moves to `description` so the (project, name) pair is free
   * again, as it would be after a deletion. False if it was already revoked.
   */
  async revokeProjectToken(row: TokenRow): Promise<boolean> {
    const { count } = await this.prisma.apiToken.updateMany({
      where: { id: row.id, kind: 'project', revokedAt: null },
      data: { revokedAt: new Date(), name: null, description: row.description ?? row.name },
    });
    if (count) this.cache.invalidate(row.id);
    return count === 1;
  }

  countActive(): Promise<number> {
    return this.prisma.apiToken.count({ where: { revokedAt: null } });
  }

  /** Project ids for ids or names (null where unknown), in the order given. */
  async resolveProjectIds(refs: string[]): Promise<Array<string | null>> {
    const uuids = refs.filter((r) => isUuid(r));
    const rows = await this.prisma.project.findMany({
      where: { OR: [{ name: { in: refs } }, ...(uuids.length ? [{ id: { in: uuids } }] : [])] },
      select: { id: true, name: true },
    });
    return refs.map((r) => rows.find((p) => p.id === r || p.name === r)?.id ?? null);
  }

  /** One statement for a batch of uses (last_used_at only moves forward). */
  async touchLastUsed(ids: string[], at: Date): Promise<number> {
    const { count } = await this.prisma.apiToken.updateMany({
      where: { id: { in: ids }, OR: [{ lastUsedAt: null }, { lastUsedAt: { lt: at } }] },
      data: { lastUsedAt: at },
    });
    return count;
  }

  async projectNames(ids: string[]): Promise<string[]> {
    const rows = await this.prisma.project.findMany({ where: { id: { in: ids } }, select: { name: true } });
    return rows.map((r) => r.name);
  }
}
