import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import { destroyClient, pgClientOptions } from '../database/connect.js';
import { errorSummary } from '../database/database-availability.js';
import { DatabaseService } from '../database/database.service.js';
import { TokenCache } from './token-cache.service.js';

export const TOKEN_CHANGED_CHANNEL = 'keyward_token_changed';
/** Each instance's listener sends itself a notification here and must receive it back. */
export const HEARTBEAT_CHANNEL = 'keyward_listener_heartbeat';

export type ListenerState = 'disabled' | 'embedded' | 'connecting' | 'catching-up' | 'healthy' | 'stopped';

/**
 * Listens for `keyward_token_changed` notifications (sent by a trigger on api_tokens whenever a
 * token's verification-relevant fields change, from any instance, the CLI or plain SQL) and drops the
 * token's cached verification results. On PGlite it uses the embedded database's own LISTEN.
 *
 * On PostgreSQL it holds one dedicated connection, and checks it: every KEYWARD_LISTENER_HEARTBEAT
 * (H) it sends `NOTIFY keyward_listener_heartbeat` through the pool and must receive it back on the
 * listening connection. PostgreSQL delivers notifications in commit order, so a heartbeat coming back
 * proves every token change committed before it was sent has been seen. The cache trusts its database
 * entries only until 2·H after the send time of the newest heartbeat received in the current session:
 * a dead, frozen or half-open listener makes the cache fall back to the database within 2·H, and a
 * listener that stays silent longer (max(4·H, DATABASE_QUERY_TIMEOUT + H)) is dropped and reconnected. A new session (reconnect) trusts
 * nothing cached before it. That is the invalidation bound: a change is seen by every instance within
 * 2·H, or the instance stops serving from its cache.
 */
@Injectable()
export class TokenEventsService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('TokenEvents');
  private readonly nonce = randomBytes(6).toString('hex');
  private readonly heartbeatEvery: number;
  /** Silence after which the connection is presumed half-open and replaced (trust lapses long before). */
  private readonly reconnectAfter: number;
  private client: pg.Client | null = null;
  private unlisten: (() => Promise<void>) | null = null;
  private phase: ListenerState = 'disabled';
  private stopped = false;
  private retry: NodeJS.Timeout | null = null;
  private ticker: NodeJS.Timeout | null = null;
  private session = 0;
  private sessionStartedAt = 0;
  /** Send time of the newest heartbeat received in this session (0: none yet). */
  private lastHeard = 0;
  /** Logged once per loss, not per reconnect attempt. */
  private lostSince: number | null = null;
  private firstHeartbeat: (() => void) | null = null;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly db: DatabaseService,
    private readonly cache: TokenCache,
  ) {
    this.heartbeatEvery = config.KEYWARD_LISTENER_HEARTBEAT;
    // A late heartbeat (busy machine, slow statement) only pauses trust; replacing the connection is
    // for one that stays silent, and a heartbeat may legitimately take up to one statement timeout.
    this.reconnectAfter = Math.max(4 * this.heartbeatEvery, config.DATABASE_QUERY_TIMEOUT + this.heartbeatEvery);
  }

  /** How stale a served cache entry can be, at most: 2 × KEYWARD_LISTENER_HEARTBEAT. */
  get staleness(): number {
    return 2 * this.heartbeatEvery;
  }

  /** For readiness probes and metrics: connected, and a heartbeat came back within the bound. */
  isHealthy(): boolean {
    return this.listenerState() === 'healthy' || this.phase === 'embedded' || this.phase === 'disabled';
  }

  listenerState(): ListenerState {
    if (this.phase === 'healthy' && !this.cache.trusted) return 'catching-up';
    return this.phase;
  }

  /**
   * `connected` while the LISTEN connection is up (it may still be catching up: see `isHealthy()`),
   * `reconnecting` after a lost connection, `off` when the cache is disabled (nothing to invalidate, so
   * no listener). Read by readiness and the metrics.
   */
  get state(): 'connected' | 'reconnecting' | 'off' {
    if (!this.cache.enabled) return 'off';
    return this.client || this.unlisten ? 'connected' : 'reconnecting';
  }

  async onModuleInit(): Promise<void> {
    if (!this.cache.enabled) return;
    if (this.db.handle.pglite) {
      this.phase = 'embedded';
      this.cache.trustAlways();
      this.unlisten = await this.db.handle.pglite.listen(TOKEN_CHANGED_CHANNEL, (id) => this.cache.invalidate(id));
      return;
    }
    this.ticker = setInterval(() => this.tick(), this.heartbeatEvery);
    this.ticker.unref();
    // Start with a trusted cache when the database answers; never wait longer than the bound.
    const first = new Promise<void>((resolve) => (this.firstHeartbeat = resolve));
    await this.connect();
    await Promise.race([first, new Promise((r) => setTimeout(r, this.staleness).unref())]);
    this.firstHeartbeat = null;
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    this.phase = 'connecting';
    const config = this.db.handle.config!;
    const client = new pg.Client(pgClientOptions(config.url, config.timeouts, 'keyward-listener'));
    client.on('notification', (msg) => {
      if (client !== this.client) return;
      if (msg.channel === HEARTBEAT_CHANNEL) this.heard(msg.payload);
      else if (msg.channel === TOKEN_CHANGED_CHANNEL && msg.payload) {
        this.db.replicaReads.changed(msg.payload); // before the cache: a refill must not come from a lagging replica
        this.cache.invalidate(msg.payload);
      }
    });
    client.on('error', (err) => this.lose(client, err));
    client.on('end', () => this.lose(client, new Error('connection ended')));
    try {
      await client.connect();
      await client.query(`LISTEN ${TOKEN_CHANGED_CHANNEL}`);
      await client.query(`LISTEN ${HEARTBEAT_CHANNEL}`);
    } catch (err) {
      this.lose(client, err as Error);
      return;
    }
    if (this.stopped) return destroyClient(client);
    // Anything cached before this point may have missed a notice: a new session trusts none of it, and
    // replicas only once they replayed what the primary holds now.
    this.client = client;
    void this.db.replicaReads.resume();
    this.session++;
    this.sessionStartedAt = Date.now();
    this.lastHeard = 0;
    this.cache.newSession();
    this.phase = 'healthy';
    if (this.lostSince !== null) {
      const seconds = ((Date.now() - this.lostSince) / 1000).toFixed(1);
      this.logger.log(`token change listener reconnected after ${seconds} s`);
      this.lostSince = null;
    }
    this.sendHeartbeat();
  }

  /** Every H: send a heartbeat; replace a listener that has heard none for `reconnectAfter`. */
  private tick(): void {
    if (this.stopped || !this.client) return;
    const since = this.lastHeard || this.sessionStartedAt;
    if (Date.now() - since > this.reconnectAfter) {
      this.lose(this.client, new Error(`no heartbeat for ${Date.now() - since} ms`));
      return;
    }
    this.sendHeartbeat();
  }

  private sendHeartbeat(): void {
    const payload = `${this.nonce}:${this.session}:${Date.now()}`;
    // Through the pool, not the listening connection: it proves the listener receives others' commits.
    this.db.sql.query('SELECT pg_notify($1, $2)', [HEARTBEAT_CHANNEL, payload]).catch(() => undefined);
  }

  private heard(payload: string | undefined): void {
    const [nonce, session, sentAt] = (payload ?? '').split(':');
    if (nonce !== this.nonce || Number(session) !== this.session) return; // another instance's, or an old session's
    const sent = Number(sentAt);
    if (!(sent >= this.sessionStartedAt) || sent <= this.lastHeard) return;
    this.lastHeard = sent;
    this.cache.confirm(sent, this.staleness);
    this.firstHeartbeat?.();
  }

  private lose(client: pg.Client, err: Error): void {
    if (this.stopped || (this.client !== null && this.client !== client)) return;
    const wasConnected = this.client === client;
    this.client = null;
    destroyClient(client);
    this.db.replicaReads.suspend();
    if (wasConnected) this.cache.newSession();
    if (this.lostSince === null) {
      this.lostSince = Date.now();
      this.logger.warn(
        `token change listener lost (${errorSummary(err)}); verifying against the database until it is back`,
      );
    }
    this.phase = 'connecting';
    if (this.retry) return;
    this.retry = setTimeout(
      () => {
        this.retry = null;
        void this.connect();
      },
      Math.min(1000, this.heartbeatEvery),
    );
    this.retry.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    this.phase = 'stopped';
    if (this.retry) clearTimeout(this.retry);
    if (this.ticker) clearInterval(this.ticker);
    await this.unlisten?.().catch(() => undefined);
    if (this.client) {
      const client = this.client;
      this.client = null;
      client.removeAllListeners('end');
      client.on('error', () => undefined);
      await Promise.race([client.end().catch(() => undefined), new Promise((r) => setTimeout(r, 500).unref())]);
      destroyClient(client);
    }
  }
}
