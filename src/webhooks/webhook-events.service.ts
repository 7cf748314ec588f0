import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { endpointHears } from '../access/policy.js';
import { AuditService, type RecordedAction } from '../audit/audit.service.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import type { Webhook } from '../generated/prisma/client.js';
import { type TokenSummary, tokenScope, type WebhookEventType, type WebhookPayload } from './webhook-events.js';
import { WebhooksRepository, type NewDelivery } from './webhooks.repository.js';

/** The audit actions that are token events, and the events they announce. */
const ANNOUNCED: Record<string, WebhookEventType[]> = {
  'token.create': ['token.created'],
  'token.revoke': ['token.revoked'],
  'token.delete': ['token.revoked'],
  'token.disable': ['token.disabled'],
  'token.leaked': ['token.leaked', 'token.revoked'],
};

const REASONS: Record<string, string> = {
  'token.revoke': 'revoked',
  'token.delete': 'deleted',
  'token.leaked': 'leaked',
};

/** Tokens announced per expiry statement (a larger backlog takes several scans). */
const SCAN_BATCH = 500;
/** How far back an expiry the scan has not seen yet is still announced. */
const EXPIRED_LOOKBACK_MS = 24 * 3600_000;

/**
 * Turns token lifecycle into queued deliveries. Creations, revocations (with the descendants revoked
 * with them), disablings and leak reports are taken from what the audit trail records, so the token
 * services know nothing of webhooks; expiry reminders (`token.expiring`, once per lead time) and
 * `token.expired` come from a periodic scan that marks each notice as sent in the same transaction as
 * it queues the deliveries, so each is announced once across instances and restarts.
 */
@Injectable()
export class WebhookEventsService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Webhooks');
  private readonly pending = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  private scanning: Promise<number> | null = null;
  /** Called after deliveries were queued (the worker looks at once instead of at its next poll). */
  onQueued: (() => void) | null = null;
  /** Events queued by this instance, by type (read by the metrics). */
  readonly queued = new Map<string, number>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly repo: WebhooksRepository,
    audit: AuditService,
  ) {
    audit.onRecorded((action) => this.track(this.announce(action)));
  }

  onApplicationBootstrap(): void {
    const every = this.config.KEYWARD_WEBHOOK_EXPIRY_SCAN;
    if (!every) return;
    this.timer = setInterval(() => void this.scan().catch((err: Error) => this.fail('expiry scan', err)), every);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await Promise.allSettled([...this.pending, this.scanning]);
  }

  private track(p: Promise<void>): void {
    const tracked = p
      .catch((err: Error) => this.fail('queueing an event', err))
      .finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
  }

  private fail(what: string, err: Error): void {
    this.logger.error(`webhooks: ${what} failed: ${err.message}`);
  }

  /** Waits for the events recorded so far to be queued (tests, shutdown). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }

  private async announce(action: RecordedAction): Promise<void> {
    const types = ANNOUNCED[action.action];
    if (!types || action.outcome === 'failure' || action.target?.type !== 'token' || !action.target.id) return;
    const hooks = await this.repo.subscribers(types);
    if (!hooks.length) return;
    const rootId = action.target.id;
    const cascade = action.cascade ?? [];
    const rows = await this.repo.tokens([rootId, ...cascade]);
    const fallback = (id: string): TokenSummary => ({
      id,
      name: null,
      kind: null,
      project_id: action.target?.projectId ?? null,
      scope_projects: [],
      permissions: [],
      created_at: null,
      expires_at: null,
    });
    const token = rows.get(rootId) ?? fallback(rootId);
    const timestamp = new Date().toISOString();
    const payloads = types.map((type): WebhookPayload => {
      const data: WebhookPayload['data'] = { token, actor: action.actorId };
      if (type === 'token.revoked' || type === 'token.leaked') {
        data.reason = REASONS[action.action];
        data.descendants = cascade.map((id) => rows.get(id) ?? fallback(id));
      }
      if (type === 'token.leaked') {
        data.reporter_address =
          (action.details?.reporter_address as string | null | undefined) ?? action.origin.clientAddress;
        data.source_url = (action.details?.source_url as string | null | undefined) ?? null;
      }
      return { type, timestamp, data };
    });
    await this.queue(hooks, payloads);
  }

  private async queue(hooks: Webhook[], payloads: WebhookPayload[], q?: Parameters<WebhooksRepository['enqueue']>[1]) {
    const deliveries: NewDelivery[] = [];
    for (const payload of payloads) {
      for (const hook of hooks) {
        if (!hook.events.includes(payload.type)) continue;
        if (!endpointHears(hook, tokenScope(payload.data.token))) continue;
        deliveries.push({ webhookId: hook.id, payload });
      }
    }
    await this.repo.enqueue(deliveries, q);
    for (const d of deliveries) this.queued.set(d.payload.type, (this.queued.get(d.payload.type) ?? 0) + 1);
    if (deliveries.length) this.onQueued?.();
    return deliveries.length;
  }

  /**
   * One expiry pass, now: reminders due for each lead time of KEYWARD_WEBHOOK_EXPIRY_LEADS, and tokens
   * that expired. Returns the deliveries queued. Safe to run on every instance at once.
   */
  scan(): Promise<number> {
    if (this.scanning) return this.scanning;
    this.scanning = this.scanPass().finally(() => (this.scanning = null));
    return this.scanning;
  }

  private async scanPass(): Promise<number> {
    let total = 0;
    for (const lead of this.config.KEYWARD_WEBHOOK_EXPIRY_LEADS) {
      for (;;) {
        const n = await this.repo.transaction(async (q) => {
          const hooks = await this.repo.subscribers(['token.expiring'], q);
          if (!hooks.length) return { tokens: 0, queued: 0 };
          const tokens = await this.repo.takeExpiring(q, lead, SCAN_BATCH);
          const timestamp = new Date().toISOString();
          const payloads = tokens.map((token): WebhookPayload => ({
            type: 'token.expiring',
            timestamp,
            data: { token, lead_seconds: Math.round(lead / 1000) },
          }));
          return { tokens: tokens.length, queued: await this.queue(hooks, payloads, q) };
        });
        total += n.queued;
        if (n.tokens < SCAN_BATCH) break;
      }
    }
    for (;;) {
      const n = await this.repo.transaction(async (q) => {
        const hooks = await this.repo.subscribers(['token.expired'], q);
        if (!hooks.length) return { tokens: 0, queued: 0 };
        const tokens = await this.repo.takeExpired(q, EXPIRED_LOOKBACK_MS, SCAN_BATCH);
        const timestamp = new Date().toISOString();
        const payloads = tokens.map((token): WebhookPayload => ({ type: 'token.expired', timestamp, data: { token } }));
        return { tokens: tokens.length, queued: await this.queue(hooks, payloads, q) };
      });
      total += n.queued;
      if (n.tokens < SCAN_BATCH) break;
    }
    return total;
  }
}
