import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import { errorSummary } from '../database/database-availability.js';
import { VerificationRepository } from './verification.repository.js';

/**
 * `last_used_at` without a write per request: uses are collected in memory and written in one
 * statement every KEYWARD_LAST_USED_FLUSH, and on graceful shutdown (before the database closes).
 * A failed write keeps the uses for the next flush; a crash (kill -9) loses at most one interval.
 */
@Injectable()
export class UsageTracker implements OnModuleInit, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger('UsageTracker');
  /** Token id → time of its latest use (ms). */
  private pending = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<number> | null = null;
  private failing = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly tokens: VerificationRepository,
  ) {}

  onModuleInit(): void {
    const every = this.config.KEYWARD_LAST_USED_FLUSH;
    if (every > 0) {
      this.timer = setInterval(() => void this.flush(), every);
      this.timer.unref();
    }
  }

  used(tokenId: string): void {
    this.pending.set(tokenId, Date.now());
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /** Writes the collected uses; one flush at a time. Returns the number of rows updated. */
  async flush(): Promise<number> {
    while (this.flushing) await this.flushing.catch(() => undefined);
    if (!this.pending.size) return 0;
    this.flushing = this.write();
    try {
      return await this.flushing;
    } finally {
      this.flushing = null;
    }
  }

  private async write(): Promise<number> {
    const batch = this.pending;
    this.pending = new Map();
    const ids = [...batch.keys()];
    // One statement: every token gets the batch's latest use (last_used_at only moves forward).
    let latest = 0;
    for (const t of batch.values()) if (t > latest) latest = t;
    const at = new Date(latest);
    try {
      const count = await this.tokens.touchLastUsed(ids, at);
      if (this.failing) this.logger.log(`recorded the last use of ${ids.length} tokens after earlier failures`);
      this.failing = false;
      return count;
    } catch (err) {
      // Keep them for the next flush (newer uses recorded meanwhile win).
      for (const [id, t] of batch) if (!this.pending.has(id)) this.pending.set(id, t);
      if (!this.failing) {
        this.logger.warn(`could not record the last use of ${ids.length} tokens (${errorSummary(err)}); will retry`);
      }
      this.failing = true;
      return 0;
    }
  }

  /** Graceful shutdown: write what is pending while the database is still open. */
  async beforeApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flush();
  }
}
