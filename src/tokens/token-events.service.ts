import { Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import pg from 'pg';
import { DatabaseService } from '../database/database.service.js';
import { TokenCache } from './token-cache.service.js';

export const TOKEN_CHANGED_CHANNEL = 'keyward_token_changed';

/**
 * Listens for `keyward_token_changed` notifications (sent by a trigger on api_tokens whenever a
 * token's verification-relevant fields change, from any instance, the CLI or plain SQL) and drops the
 * token's cached verification results. On PostgreSQL it holds one dedicated connection and reconnects
 * after errors (clearing the whole cache, since notices may have been missed); on PGlite it uses the
 * embedded database's own LISTEN.
 */
@Injectable()
export class TokenEventsService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('TokenEvents');
  private client: pg.Client | null = null;
  private unlisten: (() => Promise<void>) | null = null;
  private stopped = false;
  private retry: NodeJS.Timeout | null = null;

  constructor(
    private readonly db: DatabaseService,
    private readonly cache: TokenCache,
  ) {}

  /**
   * `connected` while notifications arrive, `reconnecting` after a lost connection, `off` when the
   * cache is disabled (nothing to invalidate, so no listener). Read by readiness and the metrics.
   */
  get state(): 'connected' | 'reconnecting' | 'off' {
    if (!this.cache.enabled) return 'off';
    return this.client || this.unlisten ? 'connected' : 'reconnecting';
  }

  async onModuleInit(): Promise<void> {
    if (!this.cache.enabled) return;
    if (this.db.handle.pglite) {
      this.unlisten = await this.db.handle.pglite.listen(TOKEN_CHANGED_CHANNEL, (id) => this.cache.invalidate(id));
      return;
    }
    await this.connect();
  }

  private async connect(): Promise<void> {
    const pool = this.db.handle.pool!;
    const client = new pg.Client(pool.options);
    client.on('notification', (msg) => {
      if (msg.channel === TOKEN_CHANGED_CHANNEL && msg.payload) this.cache.invalidate(msg.payload);
    });
    client.on('error', (err) => this.reconnectLater(client, err));
    client.on('end', () => this.reconnectLater(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${TOKEN_CHANGED_CHANNEL}`);
      this.client = client;
      this.cache.clear(); // anything cached before (re)connecting may have missed a notice
    } catch (err) {
      this.reconnectLater(client, err as Error);
    }
  }

  private reconnectLater(client: pg.Client, err?: Error): void {
    if (this.stopped || this.retry || (this.client && this.client !== client)) return;
    this.client = null;
    this.cache.clear();
    if (err) this.logger.warn(`token change listener lost its connection (${err.message}); reconnecting`);
    client.removeAllListeners('end');
    void client.end().catch(() => undefined);
    this.retry = setTimeout(() => {
      this.retry = null;
      void this.connect();
    }, 1000);
    this.retry.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    await this.unlisten?.().catch(() => undefined);
    if (this.client) {
      this.client.removeAllListeners('end');
      await this.client.end().catch(() => undefined);
    }
  }
}
