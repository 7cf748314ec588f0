import { setTimeout as sleep } from 'node:timers/promises';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import { CleanupRepository, type CleanupSession, type RemovedCounts } from './cleanup.repository.js';

export const CLEANUP_INTERVAL_NAME = 'keyward-cleanup';

export type CleanupResult =
  | { skipped: true; reason: 'running' | 'locked' | 'recent' }
  | (RemovedCounts & {
      skipped: false;
      removed: number;
      /** Rotation grace leftovers cleared (previous secret past its grace period). */
      graceCleared: number;
      /** Audit events past KEYWARD_AUDIT_RETENTION removed. */
      auditRemoved: number;
      /** Ended rate-limit windows removed (`ratelimits`: per-token limits, failed-login counters). */
      windowsRemoved: number;
      /** Delete statements run (each one short transaction of at most the batch size). */
      batches: number;
      startedAt: Date;
      finishedAt: Date;
    });

/** A completed pass, as kept in `CleanupService.history` (start/end measured while holding the lock). */
export type CleanupPass = Extract<CleanupResult, { skipped: false }>;

const HISTORY_SIZE = 100;

/**
 * Deletes expired tokens, used single-use tokens and revoked tokens past their audit retention, every
 * KEYWARD_CLEANUP_INTERVAL for the whole cluster. Every replica schedules the job (the Nest scheduler
 * has no lock); a PostgreSQL advisory lock (on a direct connection) makes one instance at a time do a
 * pass, and the `cluster_jobs` row it claims under that lock makes the others skip the interval's pass. Each pass
 * deletes in batches of KEYWARD_CLEANUP_BATCH_SIZE, each its own short statement, until a batch comes
 * back short, so a large backlog never holds locks for long. Idempotent: a pass with nothing to do
 * deletes nothing.
 */
@Injectable()
export class CleanupService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Cleanup');
  private current: Promise<CleanupResult> | null = null;
  private stopped = false;

  /** The last completed passes of this instance, oldest first. */
  readonly history: CleanupPass[] = [];
  /** Passes this instance started, and those it skipped because another instance held the lock. */
  readonly stats = { attempted: 0, ran: 0, skippedLocked: 0, skippedRunning: 0, skippedRecent: 0, failed: 0 };
  /** Rows removed and time spent by every pass since start (read by the metrics). */
  readonly totals = { expired: 0, used: 0, revoked: 0, graceCleared: 0, seconds: 0 };
  /**
   * Test seam: awaited while the lock is held, before the first batch (lets a test make a pass last).
   * Not used by the service itself.
   */
  onLocked?: () => Promise<void>;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly repository: CleanupRepository,
    private readonly scheduler: SchedulerRegistry,
  ) {}

  onApplicationBootstrap(): void {
    const every = this.config.KEYWARD_CLEANUP_INTERVAL;
    if (!every) {
      this.logger.log('cleanup job is off (KEYWARD_CLEANUP_INTERVAL=0)');
      return;
    }
    const timer = setInterval(() => void this.tick(), every);
    timer.unref();
    this.scheduler.addInterval(CLEANUP_INTERVAL_NAME, timer);
    this.logger.debug(`cleanup job every ${every} ms, batches of ${this.config.KEYWARD_CLEANUP_BATCH_SIZE}`);
  }

  /** Stops the schedule and waits for a pass in progress, before the database closes. */
  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    if (this.scheduler.doesExist('interval', CLEANUP_INTERVAL_NAME))
      this.scheduler.deleteInterval(CLEANUP_INTERVAL_NAME);
    await this.current?.catch(() => undefined);
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.runOnce({ scheduled: true });
    } catch (err) {
      this.logger.error(`cleanup pass failed: ${(err as Error).message}`);
    }
  }

  /**
   * One pass, now. Skips (without waiting) when this instance is already running one or another
   * instance holds the lock; a `scheduled` pass also skips when any instance of the cluster started one
   * less than 0.9 × KEYWARD_CLEANUP_INTERVAL ago (the cluster runs one pass per interval, not one per
   * instance; the 10 % absorbs the instances' timer jitter).
   */
  runOnce(options: { scheduled?: boolean } = {}): Promise<CleanupResult> {
    this.stats.attempted++;
    if (this.current) {
      this.stats.skippedRunning++;
      this.logger.debug('cleanup pass skipped: the previous one is still running');
      return Promise.resolve({ skipped: true, reason: 'running' });
    }
    const minGap = options.scheduled ? Math.floor(this.config.KEYWARD_CLEANUP_INTERVAL * 0.9) : 0;
    this.current = this.pass(minGap).finally(() => {
      this.current = null;
    });
    return this.current;
  }

  private async pass(minGap: number): Promise<CleanupResult> {
    let outcome;
    try {
      outcome = await this.repository.withLock(async (session) =>
        (await session.claim(minGap)) ? this.removeUnderLock(session) : null,
      );
    } catch (err) {
      this.stats.failed++;
      throw err;
    }
    if (!outcome.acquired) {
      this.stats.skippedLocked++;
      this.logger.debug('cleanup pass skipped: another instance holds the lock');
      return { skipped: true, reason: 'locked' };
    }
    if (!outcome.result) {
      this.stats.skippedRecent++;
      this.logger.debug('cleanup pass skipped: another instance ran one less than an interval ago');
      return { skipped: true, reason: 'recent' };
    }
    this.record(outcome.result);
    return outcome.result;
  }

  /** The pass proper, with the lock held and the interval claimed: everything due, in batches. */
  private async removeUnderLock(session: CleanupSession): Promise<CleanupPass> {
    const startedAt = new Date();
    await this.onLocked?.();
    const { counts, batches } = await this.deleteTokens(session);
    const graceCleared = await this.inBatches((size) => session.clearExpiredGraceBatch(size), { pause: false });
    const auditRemoved = await this.deleteOldAuditEvents(session);
    const windowsRemoved = await this.inBatches((size) => session.deleteEndedWindowsBatch(size), { pause: true });
    return {
      ...counts,
      skipped: false as const,
      removed: counts.expired + counts.used + counts.revoked,
      graceCleared,
      auditRemoved,
      windowsRemoved,
      batches,
      startedAt,
      finishedAt: new Date(),
    };
  }

  /** Expired tokens, used single-use tokens and revoked tokens past KEYWARD_REVOKED_RETENTION. */
  private async deleteTokens(session: CleanupSession): Promise<{ counts: RemovedCounts; batches: number }> {
    const batchSize = this.config.KEYWARD_CLEANUP_BATCH_SIZE;
    const counts: RemovedCounts = { expired: 0, used: 0, revoked: 0 };
    let batches = 0;
    for (;;) {
      const batch = await session.deleteBatch(batchSize, this.config.KEYWARD_REVOKED_RETENTION);
      batches++;
      counts.expired += batch.expired;
      counts.used += batch.used;
      counts.revoked += batch.revoked;
      if (batch.expired + batch.used + batch.revoked < batchSize || this.stopped) return { counts, batches };
      await this.pauseBetweenBatches();
    }
  }

  /** Audit events older than KEYWARD_AUDIT_RETENTION (0: kept forever), in batches like the tokens. */
  private async deleteOldAuditEvents(session: CleanupSession): Promise<number> {
    const retention = this.config.KEYWARD_AUDIT_RETENTION;
    if (!retention) return 0;
    return this.inBatches((size) => session.deleteAuditBatch(size, retention), { pause: true });
  }

  /**
   * Runs `batch` (one delete statement of at most `size` rows) until one comes back short or the
   * service stops, with KEYWARD_CLEANUP_BATCH_PAUSE between batches when `pause`; the rows removed.
   */
  private async inBatches(batch: (size: number) => Promise<number>, { pause }: { pause: boolean }): Promise<number> {
    const size = this.config.KEYWARD_CLEANUP_BATCH_SIZE;
    let total = 0;
    for (;;) {
      const n = await batch(size);
      total += n;
      if (n < size || this.stopped) return total;
      if (pause) await this.pauseBetweenBatches();
    }
  }

  private async pauseBetweenBatches(): Promise<void> {
    if (this.config.KEYWARD_CLEANUP_BATCH_PAUSE > 0) await sleep(this.config.KEYWARD_CLEANUP_BATCH_PAUSE);
  }

  /** A completed pass: into the totals the metrics read, the history, and the log. */
  private record(r: CleanupPass): void {
    const ms = r.finishedAt.getTime() - r.startedAt.getTime();
    this.stats.ran++;
    this.totals.expired += r.expired;
    this.totals.used += r.used;
    this.totals.revoked += r.revoked;
    this.totals.graceCleared += r.graceCleared;
    this.totals.seconds += ms / 1000;
    this.history.push(r);
    if (this.history.length > HISTORY_SIZE) this.history.shift();
    const line = `cleanup removed ${r.removed} rows (expired ${r.expired}, used ${r.used}, revoked ${r.revoked}) in ${ms} ms`;
    if (r.removed > 0) this.logger.log(line);
    else this.logger.debug(line);
    if (r.auditRemoved > 0) this.logger.log(`cleanup removed ${r.auditRemoved} audit events past their retention`);
    if (r.graceCleared > 0) this.logger.log(`cleanup cleared ${r.graceCleared} rotation grace entries past their end`);
    if (r.windowsRemoved > 0) this.logger.debug(`cleanup removed ${r.windowsRemoved} ended rate-limit windows`);
  }
}
