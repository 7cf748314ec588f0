import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { keysetAfter, type KeysetPosition } from '../common/http/keyset-cursor.js';
import { DatabaseService } from '../database/database.service.js';
import type { AuditEvent, Prisma } from '../generated/prisma/client.js';

export type AuditRow = AuditEvent;
export type AuditInsert = Omit<Prisma.AuditEventUncheckedCreateInput, 'id'>;

/** All Prisma access for the audit trail (the cleanup job deletes old rows with its own batched SQL). */
@Injectable()
export class AuditRepository {
  constructor(private readonly db: DatabaseService) {}

  async insert(data: AuditInsert): Promise<void> {
    await this.db.prisma.auditEvent.create({ data: { ...data, id: randomUUID() } });
  }

  async insertMany(rows: AuditInsert[]): Promise<void> {
    await this.db.prisma.auditEvent.createMany({ data: rows.map((r) => ({ ...r, id: randomUUID() })) });
  }

  /**
   * Adds `count` attempts to the aggregate row `aggregateKey` (created on first use): one
   * `INSERT … ON CONFLICT DO UPDATE`, so instances sharing a database add up instead of colliding.
   */
  async addToAggregate(aggregateKey: string, data: AuditInsert & { count: number; lastSeenAt: Date }): Promise<void> {
    await this.db.prisma.auditEvent.upsert({
      where: { aggregateKey },
      create: { ...data, aggregateKey, id: randomUUID() },
      update: { count: { increment: data.count }, lastSeenAt: data.lastSeenAt },
    });
  }

  /** Newest first, keyset pagination over (created_at, id). */
  page(where: Prisma.AuditEventWhereInput, limit: number, after?: KeysetPosition): Promise<AuditRow[]> {
    return this.db.prisma.auditEvent.findMany({
      where: { AND: [where, ...(after ? [keysetAfter(after, 'desc')] : [])] },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit,
    });
  }
}
