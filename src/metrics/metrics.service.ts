import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { AuthThrottle } from '../verification/auth-throttle.js';
import { VerificationOutcomes } from '../verification/verification-outcomes.js';
import { CleanupService } from '../cleanup/cleanup.service.js';
import type { RequestSummary } from '../common/http/access-log.js';
import { VERSION } from '../common/version.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import { DatabaseService } from '../database/database.service.js';
import { PasswordHasher } from '../verification/password-hasher.js';
import { TokenCache } from '../verification/token-cache.service.js';
import { TokenEventsService } from '../verification/token-events.service.js';
import { LeakedTokensService } from '../leaks/leaked-tokens.service.js';
import { WebhookDeliveryService } from '../webhooks/webhook-delivery.service.js';
import { WebhookEventsService } from '../webhooks/webhook-events.service.js';

type Labels = Record<string, string>;
/** A value read at scrape time: one number, or one number per label set. */
type Reading = number | Array<[Labels, number]>;

/**
 * Keyward's Prometheus metrics, in a registry of its own (one per app instance). Request durations and
 * argon2 timings are observed as they happen; everything else is read at scrape time from getters of
 * the services that own the numbers (`counterFrom` / `gaugeFrom`: a new family is one line), so no
 * feature imports the metrics module.
 */
@Injectable()
export class MetricsService implements OnModuleDestroy {
  readonly registry = new Registry();
  private readonly requestDuration = new Histogram({
    name: 'keyward_http_request_duration_seconds',
    help: 'HTTP request duration by method, route pattern and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  private readonly throttled = new Counter({
    name: 'keyward_http_throttled_requests_total',
    help: 'Requests refused with 429 Too Many Requests, by route pattern',
    labelNames: ['route'],
    registers: [this.registry],
  });
  private readonly argon2Duration = new Histogram({
    name: 'keyward_argon2_duration_seconds',
    help: 'Duration of argon2id hash and verify calls',
    labelNames: ['op'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  private readonly onArgon2 = (op: 'hash' | 'verify', seconds: number) => this.argon2Duration.observe({ op }, seconds);

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    db: DatabaseService,
    cache: TokenCache,
    private readonly hasher: PasswordHasher,
    events: TokenEventsService,
    cleanup: CleanupService,
    outcomes: VerificationOutcomes,
    throttle: AuthThrottle,
    webhookEvents: WebhookEventsService,
    webhookDelivery: WebhookDeliveryService,
    leaks: LeakedTokensService,
  ) {
    collectDefaultMetrics({ register: this.registry });
    this.gaugeFrom('keyward_build_info', 'Keyward version (always 1)', () => [[{ version: VERSION }, 1]], ['version']);
    this.readVerification(outcomes, cache, config);
    this.readArgon2(hasher);
    this.readAuthThrottle(throttle);
    this.readCleanup(cleanup);
    this.readDatabase(db, config, events);
    this.readWebhooks(webhookEvents, webhookDelivery, leaks);
  }

  /** Webhook deliveries and leaked-token reports. */
  private readWebhooks(
    webhookEvents: WebhookEventsService,
    webhookDelivery: WebhookDeliveryService,
    leaks: LeakedTokensService,
  ): void {
    // Webhooks
    this.counterFrom(
      'keyward_webhook_events_total',
      'Webhook deliveries queued by this instance, by event type',
      () => [...webhookEvents.queued].map(([type, n]) => [{ type }, n]),
      ['type'],
    );
    this.counterFrom(
      'keyward_webhook_attempts_total',
      'Webhook delivery attempts by outcome (success: a 2xx answer), and deliveries given up',
      () => [
        [{ outcome: 'success' }, webhookDelivery.stats.succeeded],
        [{ outcome: 'failure' }, webhookDelivery.stats.failed],
        [{ outcome: 'gave_up' }, webhookDelivery.stats.gaveUp],
      ],
      ['outcome'],
    );

    this.counterFrom(
      'keyward_leak_reports_total',
      'Leaked-token reports (POST /v1/tokens/revoke-leaked): reports accepted, strings reported, tokens revoked ' +
        '(descendants included), reports refused by the per-address limit',
      () => [
        [{ kind: 'reports' }, leaks.stats.reports],
        [{ kind: 'strings' }, leaks.stats.strings],
        [{ kind: 'revoked' }, leaks.stats.revoked],
        [{ kind: 'throttled' }, leaks.stats.throttled],
      ],
      ['kind'],
    );
  }

  /** Verdicts by where and how they were reached, and the verification cache. */
  private readVerification(outcomes: VerificationOutcomes, cache: TokenCache, config: AppConfig): void {
    this.counterFrom(
      'keyward_verifications_total',
      'Token verification verdicts by where they were reached (auth: the guard of a protected route; verify_api: POST /v1/tokens/verify) and code',
      () => outcomes.counts().map(({ via, code, count }) => [{ via, code }, count]),
      ['via', 'code'],
    );
    this.counterFrom(
      'keyward_auth_cache_hits_total',
      'Verifications answered from the in-memory cache',
      () => cache.hits,
    );
    this.counterFrom(
      'keyward_auth_cache_misses_total',
      'Verifications that had to ask the database',
      () => cache.misses,
    );
    this.gaugeFrom('keyward_auth_cache_entries', 'Verification results held in the cache', () => cache.size);
    this.gaugeFrom('keyward_auth_cache_max_entries', 'Capacity of the verification cache (0: cache disabled)', () =>
      cache.enabled ? config.KEYWARD_AUTH_CACHE_MAX : 0,
    );
  }

  /** The argon2 pool: timings as they happen (`onArgon2`), its load read at scrape time. */
  private readArgon2(hasher: PasswordHasher): void {
    hasher.timings.add(this.onArgon2);
    this.gaugeFrom('keyward_argon2_in_flight', 'argon2 computations running now', () => hasher.inFlight);
    this.gaugeFrom('keyward_argon2_queue_depth', 'argon2 computations waiting for a slot', () => hasher.queueDepth);
    this.counterFrom(
      'keyward_argon2_rejected_total',
      'argon2 computations refused with 503 because the queue was full',
      () => hasher.stats.rejected,
    );
  }

  /** Authentications refused by the failed-authentication throttle before any argon2 work. */
  private readAuthThrottle(throttle: AuthThrottle): void {
    this.counterFrom(
      'keyward_auth_throttled_total',
      'Authentications refused with 429 before any argon2 work, by the bucket that refused them',
      () => [
        [{ bucket: 'address' }, throttle.stats.throttledByAddress],
        [{ bucket: 'token' }, throttle.stats.throttledByToken],
      ],
      ['bucket'],
    );
    this.counterFrom(
      'keyward_auth_negative_cache_hits_total',
      'Known-bad tokens answered from the negative cache (no database, no argon2)',
      () => throttle.stats.negativeHits,
    );
  }

  /** Passes, deleted rows and durations of the cleanup job. */
  private readCleanup(cleanup: CleanupService): void {
    this.counterFrom(
      'keyward_cleanup_runs_total',
      'Cleanup passes by outcome',
      () => [
        [{ outcome: 'ran' }, cleanup.stats.ran],
        [{ outcome: 'skipped_locked' }, cleanup.stats.skippedLocked],
        [{ outcome: 'skipped_running' }, cleanup.stats.skippedRunning],
        [{ outcome: 'skipped_recent' }, cleanup.stats.skippedRecent],
        [{ outcome: 'failed' }, cleanup.stats.failed],
      ],
      ['outcome'],
    );
    this.counterFrom(
      'keyward_cleanup_deleted_rows_total',
      'Token rows deleted by the cleanup job, by reason',
      () => [
        [{ reason: 'expired' }, cleanup.totals.expired],
        [{ reason: 'used' }, cleanup.totals.used],
        [{ reason: 'revoked' }, cleanup.totals.revoked],
      ],
      ['reason'],
    );
    this.counterFrom(
      'keyward_cleanup_duration_seconds_total',
      'Time spent in cleanup passes (divide by keyward_cleanup_runs_total{outcome="ran"} for the mean)',
      () => cleanup.totals.seconds,
    );
    this.gaugeFrom('keyward_cleanup_last_duration_seconds', 'Duration of the last completed cleanup pass', () => {
      const last = cleanup.history.at(-1);
      return last ? (last.finishedAt.getTime() - last.startedAt.getTime()) / 1000 : 0;
    });
    this.gaugeFrom(
      'keyward_cleanup_last_run_timestamp_seconds',
      'When the last completed cleanup pass finished (Unix time, 0: none yet)',
      () => (cleanup.history.at(-1)?.finishedAt.getTime() ?? 0) / 1000,
    );
  }

  /** The PostgreSQL pool (absent on PGlite) and the token change listener's connection. */
  private readDatabase(db: DatabaseService, config: AppConfig, events: TokenEventsService): void {
    // Reads that could go to a replica (DATABASE_REPLICA_URLS), by where they were served
    this.counterFrom(
      'keyward_replica_reads_total',
      'Cache misses and lists by where they were read: a replica, or the primary (no replica, lagging behind a change, failing)',
      () => [
        [{ served_by: 'replica' }, db.replicaReads.stats.replica],
        [{ served_by: 'primary' }, db.replicaReads.stats.primary],
      ],
      ['served_by'],
    );
    const pool = db.handle.pool;
    if (pool) {
      this.gaugeFrom(
        'keyward_db_pool_connections',
        'PostgreSQL pool connections by state',
        () => [
          [{ state: 'total' }, pool.totalCount],
          [{ state: 'idle' }, pool.idleCount],
        ],
        ['state'],
      );
      this.gaugeFrom('keyward_db_pool_waiting', 'Queries waiting for a pool connection', () => pool.waitingCount);
      this.gaugeFrom('keyward_db_pool_max', 'Largest pool size (DATABASE_POOL_SIZE)', () => config.DATABASE_POOL_SIZE);
    }
    this.gaugeFrom(
      'keyward_token_listener_connected',
      'The LISTEN connection for token change notices is up (1), or down/reconnecting or not needed because the cache is off (0)',
      () => (events.state === 'connected' ? 1 : 0),
    );
    this.gaugeFrom(
      'keyward_listener_instances',
      'Instances whose listener heartbeats this one heard within 4 x KEYWARD_LISTENER_HEARTBEAT, itself included (0: no listener)',
      () => events.liveInstances,
    );
    this.counterFrom(
      'keyward_invalidation_confirmations_total',
      'KEYWARD_REVOKE_CONFIRM=all: answers that waited for the other instances, by outcome (confirmed: all acknowledged; timeout)',
      () => [
        [{ outcome: 'confirmed' }, events.confirmations.confirmed],
        [{ outcome: 'timeout' }, events.confirmations.timeout],
      ],
      ['outcome'],
    );
  }

  /** Records one finished HTTP request (called by the access-log hook). */
  observeRequest(s: RequestSummary): void {
    const route = s.route ?? '(no route)';
    this.requestDuration.observe({ method: s.method, route, status: String(s.status) }, s.durationMs / 1000);
    if (s.status === 429) this.throttled.inc({ route });
  }

  /** A monotonic count owned by another service, read at scrape time. */
  counterFrom(name: string, help: string, read: () => Reading, labelNames: string[] = []): void {
    new Counter({
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        this.reset();
        const value = read();
        if (typeof value === 'number') this.inc(value);
        else for (const [labels, v] of value) this.inc(labels, v);
      },
    });
  }

  /** A current value owned by another service, read at scrape time. */
  gaugeFrom(name: string, help: string, read: () => Reading, labelNames: string[] = []): void {
    new Gauge({
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        this.reset();
        const value = read();
        if (typeof value === 'number') this.set(value);
        else for (const [labels, v] of value) this.set(labels, v);
      },
    });
  }

  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  onModuleDestroy(): void {
    this.hasher.timings.delete(this.onArgon2);
    this.registry.clear();
  }
}
