import { Injectable } from '@nestjs/common';
import { canonicalProjectId } from '../access/scope.js';
import { isUuid } from '../common/uuid.js';
import { DatabaseService } from '../database/database.service.js';
import { camelRow } from '../database/rows.js';
import type { ApiToken } from '../generated/prisma/client.js';

/** A stored token as the engine reads it. */
export type TokenRow = ApiToken;

/** A token row with the rows of its ancestors in the token tree, parent first. */
export interface TokenWithAncestors {
  row: TokenRow;
  ancestors: TokenRow[];
}

/** `created_by_id` as a token id, or NULL for the configured roots (`admin`, `file:<name>`, `cli`). */
const PARENT_ID = `(CASE WHEN c.created_by_id ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
  THEN c.created_by_id::uuid END)`;

/** Deepest token tree the lookups and revocations follow. */
export const MAX_TREE_DEPTH = 64;

/**
 * What the verification engine reads and writes in the database, and nothing else: the lookup of a
 * presented token, single-use consumption, the batched last-use write and project-reference resolution.
 * The features (tokens, projects) keep their own repositories.
 */
@Injectable()
export class VerificationRepository {
  constructor(private readonly db: DatabaseService) {}

  /**
   * The verification lookup with the token's ancestors (parent first), in one statement: the token by
   * its lookup id, then up `created_by_id` through the primary key, so that the verifier can bound the
   * token by every ancestor's current state. A token created by a configured credential has none.
   */
  async findWithAncestors(lookupId: string): Promise<TokenWithAncestors | null> {
    const text = `WITH RECURSIVE c AS (
         SELECT t.*, 0 AS tree_depth FROM api_tokens t WHERE t.lookup_id = $1
         UNION ALL
         SELECT p.*, c.tree_depth + 1 FROM c JOIN api_tokens p ON p.id = ${PARENT_ID}
          WHERE c.tree_depth < ${MAX_TREE_DEPTH}
       )
       SELECT * FROM c ORDER BY tree_depth`;
    // A replica when one is configured and has replayed every change this instance was told of, for the
    // token and each of its ancestors (a revoked ancestor is never read as live from a lagging replica).
    const rows =
      (await this.db.replicaReads.read(text, [lookupId], (r) => String(r.id))) ??
      (await this.db.sql.prepared('token_with_ancestors', text, [lookupId]));
    if (!rows.length) return null;
    const [row, ...ancestors] = rows.map((r) => camelRow<TokenRow>(r, 'tree_depth'));
    return { row, ancestors };
  }

  /** The verification lookup: one indexed read through the driver (no ORM on the hot path). */
  async findByLookupId(lookupId: string): Promise<TokenRow | null> {
    const text = 'SELECT * FROM api_tokens WHERE lookup_id = $1';
    // A replica when one is configured and has replayed every change this instance was told of.
    const rows =
      (await this.db.replicaReads.read(text, [lookupId], (r) => String(r.id))) ??
      (await this.db.sql.prepared('token_by_lookup_id', text, [lookupId]));
    return rows.length ? camelRow<TokenRow>(rows[0]) : null;
  }

  /**
   * Consumes a single-use token in one atomic statement: exactly one caller gets `true`, whatever the
   * concurrency (the row is updated only while `used_at IS NULL`).
   */
  async consumeSingleUse(id: string): Promise<boolean> {
    const { count } = await this.db.prisma.apiToken.updateMany({
      where: { id, removeOnUse: true, usedAt: null, revokedAt: null },
      data: { usedAt: new Date() },
    });
    return count === 1;
  }

  /** One statement for a batch of uses (last_used_at only moves forward). */
  async touchLastUsed(ids: string[], at: Date): Promise<number> {
    const { count } = await this.db.prisma.apiToken.updateMany({
      where: { id: { in: ids }, OR: [{ lastUsedAt: null }, { lastUsedAt: { lt: at } }] },
      data: { lastUsedAt: at },
    });
    return count;
  }

  /** Tokens not revoked (for the start-up hint when no credential exists at all). */
  countActive(): Promise<number> {
    return this.db.prisma.apiToken.count({ where: { revokedAt: null } });
  }

  /**
   * Canonical ids of the projects named by id or name (null where none exists), in the order given: the
   * one resolution used for verify's and forward auth's `project` and TTL-token scopes. A reference
   * shaped like a UUID is looked up as an id only, anything else as a name only, so one reference names
   * at most one project (project names shaped like a UUID are refused).
   */
  async resolveProjectIds(refs: readonly string[]): Promise<Array<string | null>> {
    if (!refs.length) return [];
    const ids = [...new Set(refs.filter((r) => isUuid(r.trim())).map(canonicalProjectId))];
    const names = [...new Set(refs.filter((r) => !isUuid(r.trim())))];
    const [byId, byName] = await Promise.all([
      ids.length ? this.db.prisma.project.findMany({ where: { id: { in: ids } }, select: { id: true } }) : [],
      names.length
        ? this.db.prisma.project.findMany({ where: { name: { in: names } }, select: { id: true, name: true } })
        : [],
    ]);
    const known = new Set(byId.map((p) => canonicalProjectId(p.id)));
    const named = new Map(byName.map((p) => [p.name, canonicalProjectId(p.id)]));
    return refs.map((r) => {
      if (isUuid(r.trim())) return known.has(canonicalProjectId(r)) ? canonicalProjectId(r) : null;
      return named.get(r) ?? null;
    });
  }

  /**
   * The projects a tokens-file entry confined to `names` reaches: those bearing one of the names since
   * they were created (never renamed). A rename never hands a tokens-file token a project.
   */
  async projectsCreatedAs(names: readonly string[]): Promise<string[]> {
    if (!names.length) return [];
    const rows = await this.db.prisma.project.findMany({
      where: { name: { in: [...names] }, renamedAt: null },
      select: { id: true },
    });
    return rows.map((p) => canonicalProjectId(p.id));
  }
}
