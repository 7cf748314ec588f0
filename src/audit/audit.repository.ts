import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { keysetAfter, type KeysetPosition } from '../common/http/keyset-cursor.js';
import { DatabaseService } from '../database/database.service.js';
import type { SqlRunner } from '../database/sql-runner.js';
import type { AuditEvent, Prisma } from '../generated/prisma/client.js';

export type AuditRow = AuditEvent;
export type AuditInsert = Omit<Prisma.AuditEventUncheckedCreateInput, 'id'>;

/** The columns a transaction writes, in order (the others take their defaults). */
const TX_COLUMNS = `id uuid, action text, actor text, target_type text, target_id text, project_id uuid,
  client_address text, user_agent text, trace_id text, outcome text, details jsonb`;

/**
 * Writes audit rows inside the caller's transaction, in one statement, so that a change and the rows
 * that record it commit together (or not at all).
 */
export async function insertAuditRows(tx: Pick<SqlRunner, 'query'>, rows: readonly AuditInsert[]): Promise<void> {
  if (!rows.length) return;
  const records = rows.map((r) => ({
    id: randomUUID(),
    action: r.action,
    actor: r.actor,
    target_type: r.targetType ?? null,
    target_id: r.targetId ?? null,
    project_id: r.projectId ?? null,
    client_address: r.clientAddress ?? null,
    user_agent: r.userAgent ?? null,
    trace_id: r.traceId ?? null,
    outcome: r.outcome,
    details: r.details ?? null,
  }));
  await tx.query(
    `INSERT INTO audit_events (id, action, actor, target_type, target_id, project_id, client_address, user_agent,
       trace_id, outcome, details)
     SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(${TX_COLUMNS})`,
    [JSON.stringify(records)],
  );
}

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
