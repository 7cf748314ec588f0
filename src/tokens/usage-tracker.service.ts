import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import { TokensRepository } from './tokens.repository.js';

/**
 * `last_used_at` without a write per request: uses are collected in memory and written in one
 * statement every KEYWARD_LAST_USED_FLUSH (and at shutdown).
 */
@Injectable()
export class UsageTracker implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('UsageTracker');
  private pending = new Set<string>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly tokens: TokensRepository,
  ) {}

  onModuleInit(): void {
    const every = this.config.KEYWARD_LAST_USED_FLUSH;
    if (every > 0) {
      this.timer = setInterval(() => void this.flush(), every);
      this.timer.unref();
    }
  }

  used(tokenId: string): void {
    this.pending.add(tokenId);
  }

  async flush(): Promise<number> {
    if (!this.pending.size) return 0;
    const ids = [...this.pending];
    this.pending = new Set();
    try {
      return await this.tokens.touchLastUsed(ids, new Date());
    } catch (err) {
      this.logger.warn(`could not record last use of ${ids.length} tokens: ${(err as Error).message}`);
      return 0;
    }
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flush();
  }
}
