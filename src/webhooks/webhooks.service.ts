import { Injectable } from '@nestjs/common';
import ms from 'ms';
import { randomBytes, randomUUID } from 'node:crypto';
import type { Principal } from '../access/principal.js';
import { REASONS } from '../access/policy.js';
import { maySeeEndpoint } from '../access/policy.js';
import { AuditService } from '../audit/audit.service.js';
import { ApiError } from '../common/errors/api-error.js';
import type { Webhook, WebhookDelivery } from '../generated/prisma/client.js';
import type {
  CreateWebhookDto,
  ListDeliveriesQueryDto,
  RotateWebhookSecretDto,
  WebhookCreatedDto,
  WebhookDeliveryDto,
  WebhookDto,
} from './dto/webhooks.dto.js';
import type { WebhookEventType } from './webhook-events.js';
import { WebhooksRepository } from './webhooks.repository.js';

const MAX_GRACE_MS = 7 * 24 * 3600_000;

/** A Standard Webhooks signing secret: `whsec_` + base64 of 32 random bytes. */
function newSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/**
 * Webhook endpoints: created with the project scope of their creator (they hear only about tokens it
 * could see), listed and changed only by callers whose scope covers theirs; anything else is "not found".
 */
@Injectable()
export class WebhooksService {
  constructor(
    private readonly repo: WebhooksRepository,
    private readonly audit: AuditService,
  ) {}

  async create(caller: Principal, dto: CreateWebhookDto): Promise<WebhookCreatedDto> {
    if (caller.projects !== null && caller.projects.length === 0) throw ApiError.forbidden(REASONS.noProjects);
    const secret = newSecret();
    const row = await this.repo.create({
      id: randomUUID(),
      url: dto.url,
      description: dto.description ?? null,
      events: dto.events,
      secret,
      unscoped: caller.projects === null,
      scopeProjects: caller.projects === null ? [] : [...caller.projects],
      createdById: caller.id,
    });
    await this.audit.record({
      action: 'webhook.create',
      actor: caller,
      target: { type: 'webhook', id: row.id, projectId: scopeProject(row) },
      details: { events: row.events, host: new URL(row.url).host },
    });
    return { ...toWebhookDto(row), secret };
  }

  async list(caller: Principal): Promise<WebhookDto[]> {
    return (await this.repo.list()).filter((w) => maySeeEndpoint(caller, w)).map(toWebhookDto);
  }

  async get(caller: Principal, id: string): Promise<WebhookDto> {
    return toWebhookDto(await this.find(caller, id));
  }

  async delete(caller: Principal, id: string): Promise<void> {
    const row = await this.find(caller, id);
    if (!(await this.repo.delete(id))) throw notFound();
    await this.audit.record({
      action: 'webhook.delete',
      actor: caller,
      target: { type: 'webhook', id, projectId: scopeProject(row) },
    });
  }

  async rotate(caller: Principal, id: string, dto: RotateWebhookSecretDto): Promise<WebhookCreatedDto> {
    const row = await this.find(caller, id);
    const grace = dto.grace ? ms(dto.grace.trim().replace(/\s+/g, '') as ms.StringValue) : 0;
    if (typeof grace !== 'number' || grace > MAX_GRACE_MS) {
      throw ApiError.badRequest('grace must be at most 7d', { fields: { grace: ['grace must be at most 7d'] } });
    }
    const secret = newSecret();
    const updated = await this.repo.rotate(
      id,
      secret,
      grace > 0 ? row.secret : null,
      grace > 0 ? new Date(Date.now() + grace) : null,
    );
    await this.audit.record({
      action: 'webhook.rotate',
      actor: caller,
      target: { type: 'webhook', id, projectId: scopeProject(row) },
      details: { grace_seconds: Math.round(grace / 1000) },
    });
    return { ...toWebhookDto(updated), secret };
  }

  async deliveries(caller: Principal, id: string, query: ListDeliveriesQueryDto): Promise<WebhookDeliveryDto[]> {
    await this.find(caller, id);
    return (await this.repo.deliveries(id, query.limit ?? 100, query.status)).map(toDeliveryDto);
  }

  private async find(caller: Principal, id: string): Promise<Webhook> {
    const row = await this.repo.find(id);
    if (!row || !maySeeEndpoint(caller, row)) throw notFound();
    return row;
  }
}

const notFound = () => ApiError.notFound('Webhook not found');

function scopeProject(w: Webhook): string | null {
  return !w.unscoped && w.scopeProjects.length === 1 ? w.scopeProjects[0] : null;
}

function toWebhookDto(w: Webhook): WebhookDto {
  const graceLive = w.previousExpiresAt && w.previousExpiresAt > new Date();
  return {
    id: w.id,
    url: w.url,
    description: w.description,
    events: w.events as WebhookEventType[],
    projects: w.unscoped ? null : w.scopeProjects,
    created_by: w.createdById,
    created_at: w.createdAt.toISOString(),
    previous_secret_expires_at: graceLive ? w.previousExpiresAt!.toISOString() : null,
  };
}

function toDeliveryDto(d: WebhookDelivery): WebhookDeliveryDto {
  const iso = (v: Date | null) => (v ? v.toISOString() : null);
  return {
    id: d.id,
    event_type: d.eventType as WebhookEventType,
    status: d.status as WebhookDeliveryDto['status'],
    attempts: d.attempts,
    created_at: d.createdAt.toISOString(),
    next_attempt_at: d.status === 'pending' ? d.nextAttemptAt.toISOString() : null,
    last_attempt_at: iso(d.lastAttemptAt),
    last_status_code: d.lastStatusCode,
    last_error: d.lastError,
    delivered_at: iso(d.deliveredAt),
    payload: d.payload as Record<string, unknown>,
  };
}
