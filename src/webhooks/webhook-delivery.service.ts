import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import pLimit from 'p-limit';
import { Webhook as Signer } from 'standardwebhooks';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import { WebhookEventsService } from './webhook-events.service.js';
import { type ClaimedDelivery, WebhooksRepository } from './webhooks.repository.js';

/** Deliveries claimed per poll, and sent at once. */
const CLAIM_BATCH = 32;
const PARALLEL = 8;
/** Longest error text kept in the delivery log. */
const ERROR_MAX = 300;

/** Delay before attempt `attempts + 1`: base·2^(attempts−1), capped. */
function retryDelay(attempts: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.min(30, Math.max(0, attempts - 1)));
}

/**
 * The `webhook-signature` header: `v1,<base64>` by the current secret, and by the previous one while
 * its rotation grace lasts (receivers accept any listed signature), as the Standard Webhooks
 * specification describes for key rotation.
 */
function signatureHeader(d: ClaimedDelivery, timestamp: Date, body: string): string {
  const secrets = [d.secret];
  if (d.previousSecret && d.previousExpiresAt && d.previousExpiresAt > timestamp) secrets.push(d.previousSecret);
  return secrets.map((s) => new Signer(s).sign(d.id, timestamp, body)).join(' ');
}

/**
 * The delivery worker: every KEYWARD_WEBHOOK_POLL_INTERVAL (and at once when this instance queued
 * something) it claims due deliveries from the database queue (`FOR UPDATE SKIP LOCKED`, leased for
 * the endpoint timeout plus a margin, so every instance can run a worker and a crashed one's claims come
 * back), POSTs them signed per Standard Webhooks, and records the outcome: a 2xx answer succeeds;
 * anything else is retried with exponential backoff until KEYWARD_WEBHOOK_RETRY_WINDOW after the event,
 * then marked failed. The queue lives in the database, so pending deliveries survive restarts.
 */
@Injectable()
export class WebhookDeliveryService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Webhooks');
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  /** Attempts by outcome, and deliveries given up (read by the metrics). */
  readonly stats = { succeeded: 0, failed: 0, gaveUp: 0 };

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly repo: WebhooksRepository,
    events: WebhookEventsService,
  ) {
    if (config.KEYWARD_WEBHOOK_POLL_INTERVAL) events.onQueued = () => this.poke();
  }

  onApplicationBootstrap(): void {
    const every = this.config.KEYWARD_WEBHOOK_POLL_INTERVAL;
    if (!every) return;
    this.timer = setInterval(() => this.poke(), every);
    this.timer.unref();
    this.poke();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** Look for due deliveries now (or right after the pass in progress). */
  poke(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain()
      .catch((err: Error) => this.logger.error(`webhooks: delivery pass failed: ${err.message}`))
      .finally(() => {
        this.running = null;
        if (this.again && !this.stopped) {
          this.again = false;
          this.poke();
        }
      });
  }

  private async drain(): Promise<void> {
    const limit = pLimit(PARALLEL);
    for (;;) {
      const lease = this.config.KEYWARD_WEBHOOK_TIMEOUT + 30_000;
      const batch = await this.repo.claim(CLAIM_BATCH, lease);
      await Promise.all(batch.map((d) => limit(() => this.attempt(d))));
      if (batch.length < CLAIM_BATCH || this.stopped) return;
    }
  }

  private async attempt(d: ClaimedDelivery): Promise<void> {
    const body = JSON.stringify(d.payload);
    const now = new Date();
    let code: number | null = null;
    let error: string | null = null;
    try {
      const res = await fetch(d.url, {
        method: 'POST',
        redirect: 'manual',
        signal: AbortSignal.timeout(this.config.KEYWARD_WEBHOOK_TIMEOUT),
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Keyward-Webhooks',
          'webhook-id': d.id,
          'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
          'webhook-signature': signatureHeader(d, now, body),
        },
        body,
      });
      code = res.status;
      await res.body?.cancel().catch(() => undefined);
      if (res.status < 200 || res.status >= 300) error = `HTTP ${res.status}`;
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      error = e.name === 'TimeoutError' ? 'timeout' : (e.cause?.code ?? e.cause?.message ?? e.message);
    }
    if (!error) {
      this.stats.succeeded++;
      return this.repo.settle(d.id, d.attempts, { status: 'succeeded', code, error: null });
    }
    this.stats.failed++;
    const delay = retryDelay(
      d.attempts,
      this.config.KEYWARD_WEBHOOK_RETRY_BASE,
      this.config.KEYWARD_WEBHOOK_RETRY_MAX_DELAY,
    );
    const giveUp = Date.now() + delay > d.createdAt.getTime() + this.config.KEYWARD_WEBHOOK_RETRY_WINDOW;
    if (giveUp) {
      this.stats.gaveUp++;
      this.logger.warn(
        `webhooks: delivery ${d.id} to webhook ${d.webhookId} failed for good after ${d.attempts} attempts`,
      );
    }
    await this.repo.settle(d.id, d.attempts, {
      status: giveUp ? 'failed' : 'pending',
      code,
      error: error.slice(0, ERROR_MAX),
      retryInMs: giveUp ? 0 : delay,
    });
  }
}
