import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DatabaseService } from '../database/database.service.js';
import type { SqlRunner } from '../database/sql-runner.js';
import type { Webhook, WebhookDelivery } from '../generated/prisma/client.js';
import { type TokenSummary, tokenSummary, type WebhookPayload } from './webhook-events.js';

type Query = Pick<SqlRunner, 'query'>;

/** A delivery claimed by a worker, with what it needs to send it. */
export interface ClaimedDelivery {
  id: string;
  webhookId: string;
  eventType: string;
  payload: unknown;
  attempts: number;
  createdAt: Date;
  url: string;
  secret: string;
  previousSecret: string | null;
  previousExpiresAt: Date | null;
}

export interface NewDelivery {
  webhookId: string;
  payload: WebhookPayload;
}

const TOKEN_COLUMNS = 'id, name, kind, project_id, scope_projects, permissions, created_at, expires_at';

/**
 * Claims up to `$1` due deliveries, skipping rows another worker holds, and leases them for `$2` ms
 * (a worker that dies mid-attempt leaves them due again once the lease runs out).
 */
const CLAIM = `
WITH due AS (
  SELECT id FROM webhook_deliveries
   WHERE status = 'pending' AND next_attempt_at <= now()
   ORDER BY next_attempt_at
   LIMIT $1
   FOR UPDATE SKIP LOCKED
)
UPDATE webhook_deliveries d
   SET attempts = d.attempts + 1,
       last_attempt_at = now(),
       next_attempt_at = now() + ($2::bigint * interval '1 millisecond')
  FROM due, webhooks w
 WHERE d.id = due.id AND w.id = d.webhook_id
RETURNING d.id, d.webhook_id, d.event_type, d.payload, d.attempts, d.created_at,
          w.url, w.secret, w.previous_secret, w.previous_expires_at`;

/** Webhook endpoints, the delivery queue and log, and the token rows events describe. */
@Injectable()
export class WebhooksRepository {
  constructor(private readonly db: DatabaseService) {}

  create(data: Omit<Webhook, 'createdAt' | 'previousSecret' | 'previousExpiresAt'>): Promise<Webhook> {
    return this.db.prisma.webhook.create({ data });
  }

  list(): Promise<Webhook[]> {
    return this.db.prisma.webhook.findMany({ orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
  }

  find(id: string): Promise<Webhook | null> {
    return this.db.prisma.webhook.findUnique({ where: { id } });
  }

  async delete(id: string): Promise<boolean> {
    const { count } = await this.db.prisma.webhook.deleteMany({ where: { id } });
    return count === 1;
  }

  rotate(id: string, secret: string, previousSecret: string | null, previousExpiresAt: Date | null): Promise<Webhook> {
    return this.db.prisma.webhook.update({ where: { id }, data: { secret, previousSecret, previousExpiresAt } });
  }

  deliveries(webhookId: string, limit: number, status?: string): Promise<WebhookDelivery[]> {
    return this.db.prisma.webhookDelivery.findMany({
      where: { webhookId, ...(status ? { status } : {}) },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit,
    });
  }

  /** Endpoints subscribed to any of `types`. */
  async subscribers(types: readonly string[], q: Query = this.db.sql): Promise<Webhook[]> {
    const rows = await q.query<Record<string, unknown>>(
      `SELECT id, unscoped, scope_projects, events FROM webhooks WHERE events && $1::text[]`,
      [types],
    );
    return rows.map((r) => ({
      id: r.id as string,
      unscoped: r.unscoped as boolean,
      scopeProjects: r.scope_projects as string[],
      events: r.events as string[],
    })) as Webhook[];
  }

  /** The tokens events name, as far as they still exist. */
  async tokens(ids: readonly string[]): Promise<Map<string, TokenSummary>> {
    if (!ids.length) return new Map();
    const rows = await this.db.sql.query<Record<string, unknown>>(
      `SELECT ${TOKEN_COLUMNS} FROM api_tokens WHERE id = ANY($1::uuid[])`,
      [ids],
    );
    return new Map(rows.map((r) => [String(r.id), tokenSummary(r)]));
  }

  async enqueue(deliveries: readonly NewDelivery[], q: Query = this.db.sql): Promise<void> {
    if (!deliveries.length) return;
    await q.query(
      `INSERT INTO webhook_deliveries (id, webhook_id, event_type, payload)
       SELECT * FROM unnest($1::text[], $2::uuid[], $3::text[], $4::jsonb[])`,
      [
        deliveries.map(() => `msg_${randomUUID().replaceAll('-', '')}`),
        deliveries.map((d) => d.webhookId),
        deliveries.map((d) => d.payload.type),
        deliveries.map((d) => JSON.stringify(d.payload)),
      ],
    );
  }

  async claim(limit: number, leaseMs: number): Promise<ClaimedDelivery[]> {
    const rows = await this.db.sql.query<Record<string, unknown>>(CLAIM, [limit, Math.ceil(leaseMs)]);
    return rows.map((r) => ({
      id: r.id as string,
      webhookId: r.webhook_id as string,
      eventType: r.event_type as string,
      payload: r.payload,
      attempts: Number(r.attempts),
      createdAt: r.created_at as Date,
      url: r.url as string,
      secret: r.secret as string,
      previousSecret: (r.previous_secret as string | null) ?? null,
      previousExpiresAt: (r.previous_expires_at as Date | null) ?? null,
    }));
  }

  /** Records an attempt's outcome, if the lease of attempt `attempts` still holds the row. */
  async settle(
    id: string,
    attempts: number,
    outcome: {
      status: 'succeeded' | 'pending' | 'failed';
      code: number | null;
      error: string | null;
      retryInMs?: number;
    },
  ): Promise<void> {
    await this.db.sql.query(
      `UPDATE webhook_deliveries
          SET status = $3, last_status_code = $4, last_error = $5,
              delivered_at = CASE WHEN $3 = 'succeeded' THEN now() ELSE delivered_at END,
              next_attempt_at = now() + ($6::bigint * interval '1 millisecond')
        WHERE id = $1 AND attempts = $2 AND status = 'pending'`,
      [id, attempts, outcome.status, outcome.code, outcome.error, Math.ceil(outcome.retryInMs ?? 0)],
    );
  }

  /** Deliveries waiting, by status (for the metrics). */
  async counts(): Promise<Record<string, number>> {
    const rows = await this.db.sql.query<{ status: string; n: number }>(
      `SELECT status, count(*)::int AS n FROM webhook_deliveries GROUP BY status`,
    );
    return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
  }

  /**
   * Marks the tokens due for a reminder `leadMs` before their expiry (those whose lifetime is longer
   * than the lead, not revoked, enabled, not yet reminded) and returns them: each reminder once.
   */
  async takeExpiring(q: Query, leadMs: number, limit: number): Promise<TokenSummary[]> {
    const notice = `expiring:${leadMs}`;
    const rows = await q.query<Record<string, unknown>>(
      `WITH due AS (
         SELECT ${TOKEN_COLUMNS} FROM api_tokens t
          WHERE revoked_at IS NULL AND enabled
            AND expires_at > now() AND expires_at <= now() + ($1::bigint * interval '1 millisecond')
            AND expires_at - ($1::bigint * interval '1 millisecond') > created_at
            AND NOT EXISTS (SELECT 1 FROM token_expiry_notices n WHERE n.token_id = t.id AND n.notice = $2)
          LIMIT $3
          FOR UPDATE SKIP LOCKED
       ), marked AS (
         INSERT INTO token_expiry_notices (token_id, notice) SELECT id, $2 FROM due
         ON CONFLICT DO NOTHING RETURNING token_id
       )
       SELECT due.* FROM due JOIN marked ON marked.token_id = due.id`,
      [leadMs, notice, limit],
    );
    return rows.map(tokenSummary);
  }

  /**
   * Tokens that expired within `lookbackMs` and were not announced yet, marked as announced; plus those
   * deleted after expiring before the scan saw them (the outbox, drained).
   */
  async takeExpired(q: Query, lookbackMs: number, limit: number): Promise<TokenSummary[]> {
    const rows = await q.query<Record<string, unknown>>(
      `WITH due AS (
         SELECT ${TOKEN_COLUMNS} FROM api_tokens t
          WHERE revoked_at IS NULL
            AND expires_at <= now() AND expires_at > now() - ($1::bigint * interval '1 millisecond')
            AND NOT EXISTS (SELECT 1 FROM token_expiry_notices n WHERE n.token_id = t.id AND n.notice = 'expired')
          LIMIT $2
          FOR UPDATE SKIP LOCKED
       ), marked AS (
         INSERT INTO token_expiry_notices (token_id, notice) SELECT id, 'expired' FROM due
         ON CONFLICT DO NOTHING RETURNING token_id
       )
       SELECT due.* FROM due JOIN marked ON marked.token_id = due.id`,
      [lookbackMs, limit],
    );
    const gone = await q.query<{ token: Record<string, unknown> }>(
      `DELETE FROM token_expired_outbox WHERE token_id IN (
         SELECT token_id FROM token_expired_outbox ORDER BY created_at LIMIT $1 FOR UPDATE SKIP LOCKED
       ) RETURNING token`,
      [limit],
    );
    return [...rows.map(tokenSummary), ...gone.map((g) => tokenSummary(g.token))];
  }

  transaction<R>(fn: (q: Query) => Promise<R>): Promise<R> {
    return this.db.sql.transaction(fn);
  }
}
