import { Injectable } from '@nestjs/common';
import { DatabaseService } from '../database/database.service.js';
import { Prisma } from '../generated/prisma/client.js';
import type { TokenRow } from '../verification/verification.repository.js';
import type { Scope } from '../access/scope.js';
import { projectVisible } from '../access/policy.js';
import { canonicalProjectId } from '../access/scope.js';
import type { Direction, KeysetPosition } from '../common/http/keyset-cursor.js';
import { isUuid } from '../common/uuid.js';
import { camelRow } from '../database/rows.js';

export type { TokenRow } from '../verification/verification.repository.js';

/** The insert was refused: the parent (or an ancestor) of the new token is revoked or gone. */
export class RevokedAncestorError extends Error {
  constructor() {
    super('the token this one would be created through is revoked');
  }
}

/** SQLSTATE the insert trigger raises for a token under a revoked ancestor (see the token_tree_rights migration). */
const REVOKED_ANCESTOR = 'KW001';

function isRevokedAncestor(e: unknown): boolean {
  for (let err = e as { code?: unknown; cause?: unknown; message?: unknown } | undefined, i = 0; err && i < 5; i++) {
    if (err.code === REVOKED_ANCESTOR || (typeof err.message === 'string' && err.message.includes(REVOKED_ANCESTOR)))
      return true;
    const meta = (err as { meta?: { driverAdapterError?: unknown } }).meta;
    err = (meta?.driverAdapterError ?? err.cause) as typeof err;
  }
  return JSON.stringify(e ?? null)?.includes(REVOKED_ANCESTOR) ?? false;
}

import { MAX_TREE_DEPTH } from '../verification/verification.repository.js';

/** Rows a project's token list reads at most when the caller gives no page size (services pass their own). */
const DEFAULT_PAGE_CAP = 1001;

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
  /** Only tokens of this owner. */
  owner?: string;
  now: Date;
}

/**
 * The tokens a caller confined to `within` sees: project tokens of those projects, and global tokens
 * confined to projects all among them (a global token confined to none reaches every project: unseen).
 */
function visibleWithin(within: readonly string[]): Prisma.Sql {
  const ids = within.map(canonicalProjectId);
  return Prisma.sql`((kind = 'project' AND project_id::text = ANY(${ids}::text[]))
    OR (kind = 'global' AND ${confinedWithin(ids)}))`;
}

/**
 * Global tokens confined to projects all among `ids`. Overlap first: the scope index finds the tokens
 * naming one of these projects, whatever the number of other global tokens; containment then keeps
 * those narrowed to them alone.
 */
function confinedWithin(ids: readonly string[]): Prisma.Sql {
  return Prisma.sql`scope_projects && ${ids}::text[] AND scope_projects <@ ${ids}::text[]`;
}

/** Every column of api_tokens under its TokenRow name, for raw statements. */
const TOKEN_COLUMNS = Prisma.sql`id::text AS "id", lookup_id AS "lookupId", secret_hash AS "secretHash", stub, kind::text AS "kind",
  access::text AS "access", permissions, project_id::text AS "projectId", scope_projects AS "scopeProjects", name, description,
  created_by_id AS "createdById", created_at AS "createdAt", expires_at AS "expiresAt", revoked_at AS "revokedAt",
  remove_on_use AS "removeOnUse", used_at AS "usedAt", last_used_at AS "lastUsedAt",
  previous_secret_hash AS "previousSecretHash", previous_expires_at AS "previousExpiresAt", enabled,
  scopes, meta, owner, ratelimit_limit AS "ratelimitLimit", ratelimit_duration_ms AS "ratelimitDurationMs", remaining,
  refill_amount AS "refillAmount", refill_interval_ms AS "refillIntervalMs", refilled_at AS "refilledAt"`;

/** All Prisma access for tokens. Scoped reads take the owner with the id, so "not yours" is "not found". */
@Injectable()
export class TokensRepository {
  constructor(private readonly db: DatabaseService) {}

  private get prisma() {
    return this.db.prisma;
  }

  /**
   * Stores a new token. The database refuses it (RevokedAncestorError) when the token it is created
   * through is revoked, also when that revocation is concurrent: the insert locks its parent row.
   */
  async create(data: Prisma.ApiTokenUncheckedCreateInput): Promise<TokenRow> {
    try {
      return await this.prisma.apiToken.create({ data });
    } catch (e) {
      if (isRevokedAncestor(e)) throw new RevokedAncestorError();
      throw e;
    }
  }

  /** A global token the caller sees: its scope inside `within` (the caller's; null = every project). */
  findGlobalById(within: Scope, id: string): Promise<TokenRow | null> {
    return this.findVisible(within, id, 'global');
  }

  /** A token of either kind the caller sees: its scope inside `within` (null = every project). */
  findById(within: Scope, id: string): Promise<TokenRow | null> {
    return this.findVisible(within, id);
  }

  /**
   * Reads take the caller's scope, so "not yours" and "not found" are the same null: a project token
   * whose project is in `within`, or a global token confined to projects all in `within` (a token
   * confined to none, i.e. to every project, only when `within` is null).
   */
  private async findVisible(within: Scope, id: string, kind?: 'global'): Promise<TokenRow | null> {
    if (!isUuid(id)) return null;
    if (within === null) return this.prisma.apiToken.findFirst({ where: { id, ...(kind ? { kind } : {}) } });
    const rows = await this.prisma.$queryRaw<TokenRow[]>(Prisma.sql`SELECT ${TOKEN_COLUMNS} FROM api_tokens
      WHERE id = ${id}::uuid ${kind ? Prisma.sql`AND kind = 'global'` : Prisma.empty} AND ${visibleWithin(within)}`);
    return rows[0] ?? null;
  }

  /**
   * Global tokens, keyset-paginated over (created_at, id), in one statement. Scope containment
   * (`scope_projects <@ within`) has no Prisma filter, hence SQL.
   */
  async pageGlobal(filter: GlobalTokenFilter, page: PageQuery): Promise<TokenRow[]> {
    const sql = globalPageSql(filter, page);
    const fromReplica = await this.db.replicaReads.read<TokenRow & Record<string, unknown>>(
      sql.text,
      sql.values,
      (r) => r.id,
    );
    return fromReplica ?? this.prisma.$queryRaw<TokenRow[]>(sql);
  }

  /**
   * Revokes a token and every token created through it, recursively (the token tree); project tokens
   * give their name back. Already revoked tokens stay as they are, and their descendants are still
   * revoked: a revoked tree can always be revoked further. Returns the ids revoked now.
   *
   * One transaction of passes over the tree until a pass finds nothing left: a child whose insert
   * committed while the first pass waited for its parent's row lock (the insert holds it FOR SHARE)
   * is not in that pass's snapshot, but is in the next one; an insert that comes after the parent's
   * row is locked waits, then sees the parent revoked and is refused.
   */
  revokeTree(id: string): Promise<string[]> {
    return this.revokeTrees('WHERE id = $1::uuid', [id]);
  }

  /** Revokes every tree whose root row matches `where` (over api_tokens, parameters `params`). */
  private revokeTrees(where: string, params: unknown[]): Promise<string[]> {
    return this.db.sql.transaction(async (tx) => {
      const all: string[] = [];
      for (let pass = 0; pass < MAX_TREE_DEPTH; pass++) {
        const rows = await tx.query<{ id: string }>(
          `WITH RECURSIVE tree(id, depth) AS (
             SELECT id, 0 FROM api_tokens ${where}
             UNION
             SELECT t.id, tree.depth + 1 FROM api_tokens t JOIN tree ON t.created_by_id = tree.id::text
              WHERE tree.depth < ${MAX_TREE_DEPTH}
           )
           UPDATE api_tokens a SET revoked_at = now(),
             name = CASE WHEN a.kind = 'project' THEN NULL ELSE a.name END,
             description = CASE WHEN a.kind = 'project' THEN COALESCE(a.description, a.name) ELSE a.description END
           FROM (SELECT DISTINCT id FROM tree) d WHERE a.id = d.id AND a.revoked_at IS NULL
           RETURNING a.id::text AS id`,
          params,
        );
        if (!rows.length) break;
        all.push(...rows.map((r) => r.id));
      }
      return all;
    });
  }

  /**
   * Revokes every token created by a tokens-file entry (`created_by_id = 'file:<name>'`) and their
   * trees. Returns the ids revoked now.
   */
  revokeTreesOf(creatorId: string): Promise<string[]> {
    return this.revokeTrees('WHERE created_by_id = $1', [creatorId]);
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
    return count === 1 ? this.prisma.apiToken.findUnique({ where: { id } }) : null;
  }

  /**
   * A live (unrevoked, unless `revoked` says so) project token, only if it belongs to `projectId` when
   * given: anything else is null, i.e. "not found".
   */
  /** A project token the caller sees (its project in `within`; null = every project), in `projectId` when given. */
  findProjectToken(
    within: Scope,
    id: string,
    projectId?: string,
    { revoked = false }: { revoked?: boolean } = {},
  ): Promise<TokenRow | null> {
    if (!isUuid(id)) return Promise.resolve(null);
    return this.prisma.apiToken.findFirst({
      where: {
        id,
        kind: 'project',
        ...(revoked ? {} : { revokedAt: null }),
        AND: [
          projectId ? { projectId: canonicalProjectId(projectId) } : {},
          within === null ? {} : { projectId: { in: within.map(canonicalProjectId) } },
        ],
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
    if (!isUuid(projectId) || !projectVisible(scope, projectId)) return null;
    const statement = projectTokenListStatement(canonicalProjectId(projectId), opts);
    const rows =
      (await this.db.replicaReads.read(statement.text, statement.params, (r) =>
        r.id === null ? null : String(r.id),
      )) ?? (await this.db.sql.prepared(statement.name, statement.text, statement.params));
    if (!rows.length) return null;
    if (rows[0].id === null) return [];
    return rows.map((r) => camelRow<TokenRow>(r, 'project_exists'));
  }

  /** Updates a live token of `kind`; the row after the change, or null if it was revoked (or deleted) meanwhile. */
  async updateLive(
    id: string,
    kind: TokenRow['kind'],
    data: Prisma.ApiTokenUpdateManyMutationInput,
  ): Promise<TokenRow | null> {
    const { count } = await this.prisma.apiToken.updateMany({ where: { id, kind, revokedAt: null }, data });
    return count === 1 ? this.prisma.apiToken.findUnique({ where: { id } }) : null;
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
    return count ? this.prisma.apiToken.findFirst({ where: { ...where, id } }) : null;
  }

  /** An owner's live (unrevoked) tokens, oldest first. */
  /** The live tokens of an owner the caller sees (scope as in findById), oldest first. */
  liveByOwner(within: Scope, owner: string): Promise<TokenRow[]> {
    if (within === null) {
      return this.prisma.apiToken.findMany({
        where: { owner, revokedAt: null },
        orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      });
    }
    return this.prisma.$queryRaw<TokenRow[]>(Prisma.sql`SELECT ${TOKEN_COLUMNS} FROM api_tokens
      WHERE owner = ${owner} AND revoked_at IS NULL AND ${visibleWithin(within)} ORDER BY created_at, id`);
  }

  /** The live tokens created by `creatorId` (for `bootstrap`: the admin token, at most one) and how many ever were. */
  async createdBy(creatorId: string): Promise<{ live: TokenRow | null; ever: number }> {
    const [live, ever] = await Promise.all([
      this.prisma.apiToken.findFirst({
        where: { createdById: creatorId, revokedAt: null },
        orderBy: { createdAt: 'desc' },
      }),
      this.prisma.apiToken.count({ where: { createdById: creatorId } }),
    ]);
    return { live, ever };
  }

  countActive(): Promise<number> {
    return this.prisma.apiToken.count({ where: { revokedAt: null } });
  }
}

/** The Publisher list's statement (exported for the plan checks of the tests). */
export function globalPageSql(filter: GlobalTokenFilter, page: PageQuery): Prisma.Sql {
  const where: Prisma.Sql[] = [Prisma.sql`kind = 'global'`];
  if (filter.within !== null) where.push(confinedWithin([...filter.within]));
  if (filter.owner !== undefined) where.push(Prisma.sql`owner = ${filter.owner}`);
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
  return Prisma.sql`SELECT ${TOKEN_COLUMNS} FROM api_tokens
    WHERE ${Prisma.join(where, ' AND ')} ORDER BY ${order} LIMIT ${page.limit}`;
}

/**
 * The page sizes a project's token list is prepared for: a page is read with the smallest that holds it
 * (the caller slices). LIMIT is a literal, so each statement has one plan that PostgreSQL caches: with a
 * LIMIT parameter its generic plan assumed a tenth of the project's rows, so it planned every execution
 * anew (≈ 0.2 ms of the server's CPU per list at 1M tokens against 0.05 ms for the statement itself).
 */
const PROJECT_LIST_LIMITS = [11, 51, 101, 251, 501, DEFAULT_PAGE_CAP] as const;

/**
 * A project's token list: one statement per shape (with or without a name, a cursor) and page size,
 * each a plan that reads only the page from the live-tokens index (or the (project, name) one), generic
 * or custom. It may return more rows than `take` (up to the next prepared size). Exported for the plan
 * checks of the tests.
 */
export function projectTokenListStatement(
  projectId: string,
  opts: { take?: number; name?: string; before?: KeysetPosition },
): { name: string; text: string; params: unknown[] } {
  const take = Math.min(opts.take ?? DEFAULT_PAGE_CAP, DEFAULT_PAGE_CAP);
  const limit = PROJECT_LIST_LIMITS.find((l) => l >= take) ?? DEFAULT_PAGE_CAP;
  const params: unknown[] = [projectId];
  let filter = '';
  if (opts.name !== undefined) {
    params.push(opts.name);
    filter += ` AND name = $${params.length}::text`;
  }
  if (opts.before) {
    params.push(opts.before.createdAt, opts.before.id);
    filter += ` AND (created_at, id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`;
  }
  return {
    name: `project_token_list_${limit}${opts.name !== undefined ? '_name' : ''}${opts.before ? '_before' : ''}`,
    text: `SELECT p.id AS project_exists, t.*
         FROM projects p
         LEFT JOIN LATERAL (
           SELECT * FROM api_tokens
            WHERE project_id = p.id AND kind = 'project' AND revoked_at IS NULL${filter}
            ORDER BY created_at DESC, id DESC
            LIMIT ${limit}
         ) t ON true
        WHERE p.id = $1::uuid`,
    params,
  };
}
