import { Injectable } from '@nestjs/common';
import { DatabaseService } from '../database/database.service.js';
import type { ApiToken, Prisma } from '../generated/prisma/client.js';

export type TokenRow = ApiToken;

export interface PageQuery {
  limit: number;
  after?: { createdAt: Date; id: string };
  direction: 'asc' | 'desc';
}

/** All Prisma access for tokens. Scoped reads take the owner with the id, so "not yours" is "not found". */
@Injectable()
export class TokensRepository {
  constructor(private readonly db: DatabaseService) {}

  private get prisma() {
    return this.db.prisma;
  }

  create(data: Prisma.ApiTokenUncheckedCreateInput): Promise<TokenRow> {
    return this.prisma.apiToken.create({ data });
  }

  findByLookupId(lookupId: string): Promise<TokenRow | null> {
    return this.prisma.apiToken.findUnique({ where: { lookupId } });
  }

  findGlobalById(id: string): Promise<TokenRow | null> {
    return this.prisma.apiToken.findFirst({ where: { id, kind: 'global' } });
  }

  findById(id: string): Promise<TokenRow | null> {
    return this.prisma.apiToken.findUnique({ where: { id } });
  }

  /** Keyset pagination over (created_at, id). */
  async pageGlobal(where: Prisma.ApiTokenWhereInput, page: PageQuery): Promise<TokenRow[]> {
    const cmp = page.direction === 'desc' ? 'lt' : 'gt';
    const after: Prisma.ApiTokenWhereInput | undefined = page.after && {
      OR: [
        { createdAt: { [cmp]: page.after.createdAt } },
        { createdAt: page.after.createdAt, id: { [cmp]: page.after.id } },
      ],
    };
    return this.prisma.apiToken.findMany({
      where: { AND: [{ kind: 'global' }, where, ...(after ? [after] : [])] },
      orderBy: [{ createdAt: page.direction }, { id: page.direction }],
      take: page.limit,
    });
  }

  /** Revokes a token if it is not revoked yet; returns the row either way (null if unknown). */
  async revoke(id: string, where: Prisma.ApiTokenWhereInput = {}): Promise<TokenRow | null> {
    await this.prisma.apiToken.updateMany({
      where: { ...where, id, revokedAt: null },
      data: { revokedAt: new Date() },
    });
    return this.prisma.apiToken.findFirst({ where: { ...where, id } });
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
    return count === 1;
  }

  countActive(): Promise<number> {
    return this.prisma.apiToken.count({ where: { revokedAt: null } });
  }
}
