import { Injectable } from '@nestjs/common';
import { canonicalProjectId } from '../access/scope.js';
import { isUuid } from '../common/uuid.js';
import { DatabaseService } from '../database/database.service.js';
import { camelRow } from '../database/rows.js';
import type { ApiToken } from '../generated/prisma/client.js';
import { TokenCache } from './token-cache.service.js';

/** A stored token as the engine reads it. */
export type TokenRow = ApiToken;

/**
 * What the verification engine reads and writes in the database, and nothing else: the lookup of a
 * presented token, single-use consumption, the batched last-use write and project-reference resolution.
 * The features (tokens, projects) keep their own repositories.
 */
@Injectable()
export class VerificationRepository {
  constructor(
    private readonly db: DatabaseService,
    private readonly cache: TokenCache,
  ) {}

  /** The verification lookup: one indexed read through the driver (no ORM on the hot path). */
  async findByLookupId(lookupId: string): Promise<TokenRow | null> {
    const rows = await this.db.sql.prepared('token_by_lookup_id', 'SELECT * FROM api_tokens WHERE lookup_id = $1', [
      lookupId,
    ]);
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
    this.cache.invalidate(id);
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
   * Canonical ids of the projects named by id or name (null where none exists), in the order given:
   * the one resolution used for tokens-file confinement, verify's `project` and TTL-token scopes.
   */
  async resolveProjectIds(refs: readonly string[]): Promise<Array<string | null>> {
    if (!refs.length) return [];
    const uuids = refs.filter((r) => isUuid(r.trim())).map(canonicalProjectId);
    const rows = await this.db.prisma.project.findMany({
      where: { OR: [{ name: { in: [...refs] } }, ...(uuids.length ? [{ id: { in: uuids } }] : [])] },
      select: { id: true, name: true },
    });
    return refs.map((r) => {
      const id = isUuid(r.trim()) ? canonicalProjectId(r) : null;
      const hit = rows.find((p) => (id !== null && canonicalProjectId(p.id) === id) || p.name === r);
      return hit ? canonicalProjectId(hit.id) : null;
    });
  }
}
