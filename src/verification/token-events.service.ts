import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import { destroyClient, pgClientOptions } from '../database/connect.js';
import { errorSummary } from '../database/database-availability.js';
import { DatabaseService } from '../database/database.service.js';
import { TokenCache } from './token-cache.service.js';

const TOKEN_CHANGED_CHANNEL = 'keyward_token_changed';
/** Sent by a trigger on projects (create, rename, delete; payload: the project id). */
const PROJECT_CHANGED_CHANNEL = 'keyward_project_changed';
/** Each instance's listener sends itself a notification here and must receive it back. */
const HEARTBEAT_CHANNEL = 'keyward_listener_heartbeat';
/** An instance that changed tokens asks every listener to acknowledge (payload `<origin>:<change id>`). */
export const BARRIER_CHANNEL = 'keyward_invalidation_barrier';
/** The acknowledgements (payload `<change id>:<instance>`). */
export const ACK_CHANNEL = 'keyward_invalidation_ack';
/** Heartbeat payload session of an instance that is shutting down: the others stop waiting for it. */
const GONE = 'gone';

/** What `confirmInvalidation()` found: whether every live instance acknowledged, and how many did. */
export interface InvalidationOutcome {
  confirmed: boolean;
  /** Instances that acknowledged, this one included. */
  acknowledged: number;
  /** Live instances, this one included. */
  instances: number;
}

interface PendingConfirmation {
  /** The live peers to wait for, fixed when this instance's own barrier came back (null: not yet). */
  required: Set<string> | null;
  /** Not confirmed before this time: 2·H after the listening session began (see `barrier`). */
  notBefore: number;
  /** Peers that acknowledged (required or not: any instance that did is live). */
  acked: Set<string>;
  wait: NodeJS.Timeout | null;
  finish(confirmed: boolean): void;
}

/** A change route (or in-process job) waiting for this instance's listener to have applied its changes. */
interface OwnWait {
  /** The heartbeat sent for it: once one sent at or after it comes back, every earlier commit was applied. */
  seq: number;
  session: number;
  done(applied: boolean): void;
}

const INSTANCE_ID = /^[0-9a-f]{12}$/;
const CHANGE_ID = /^[0-9a-f]{16}$/;

export type ListenerState = 'disabled' | 'embedded' | 'connecting' | 'catching-up' | 'healthy' | 'stopped';

/**
 * The one place that drops cached verification results (TokenCache.invalidate/clear: nothing else in
 * the code calls them). Listens for `keyward_token_changed` notifications (sent by a trigger on
 * api_tokens whenever a token row changes, bar what a verification writes on every use, from any
 * instance, the CLI or plain SQL) and drops the token's cached verification results, and for
 * `keyward_project_changed` (a trigger on projects: created, renamed, deleted), which drops them all
 * (tokens files confine tokens by project name). A reload of the configured credentials (admin token,
 * tokens files) comes here too (`credentialsReplaced`). On PGlite it uses the embedded database's own
 * LISTEN.
 *
 * The instance that made a change waits for its own listener before answering (`ownChangesApplied`,
 * through the `@ConfirmsInvalidation()` interceptor): it sends itself a heartbeat after the change
 * committed and waits until it comes back, so no answer leaves before this instance's cache dropped
 * what the change ended.
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
export class TokenEventsService implements OnModuleInit, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger('TokenEvents');
  private readonly nonce = randomBytes(6).toString('hex');
  private readonly heartbeatEvery: number;
  /** Silence after which the connection is presumed half-open and replaced (trust lapses long before). */
  private readonly reconnectAfter: number;
  private client: pg.Client | null = null;
  private unlisten: Array<() => Promise<void>> | null = null;
  private phase: ListenerState = 'disabled';
  private stopped = false;
  private retry: NodeJS.Timeout | null = null;
  private ticker: NodeJS.Timeout | null = null;
  private session = 0;
  private sessionStartedAt = 0;
  /** Send time of the newest heartbeat received in this session (0: none yet). */
  private lastHeard = 0;
  /** Number of the last heartbeat sent (they are numbered across sessions). */
  private sent = 0;
  /** Answers waiting for this instance's listener to apply their changes. */
  private readonly ownWaits = new Set<OwnWait>();
  /** Waits that ended without their heartbeat coming back (the cache was cleared instead; read by tests). */
  ownWaitsUnconfirmed = 0;
  /** Logged once per loss, not per reconnect attempt. */
  private lostSince: number | null = null;
  private firstHeartbeat: (() => void) | null = null;
  /** Other instances' ids → when this one last received their heartbeat (its own clock). */
  private readonly peers = new Map<string, number>();
  /** Confirmations this instance waits for, by change id. */
  private readonly pending = new Map<string, PendingConfirmation>();
  /** KEYWARD_REVOKE_CONFIRM=all: changes wait for every live instance's acknowledgement. */
  readonly confirmMode: boolean;
  private readonly confirmTimeout: number;
  /** Confirmations answered, by outcome (read by the metrics). */
  readonly confirmations = { confirmed: 0, timeout: 0 };

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly db: DatabaseService,
    private readonly cache: TokenCache,
  ) {
    this.heartbeatEvery = config.KEYWARD_LISTENER_HEARTBEAT;
    // A late heartbeat (busy machine, slow statement) only pauses trust; replacing the connection is
    // for one that stays silent, and a heartbeat may legitimately take up to one statement timeout.
    this.reconnectAfter = Math.max(4 * this.heartbeatEvery, config.DATABASE_QUERY_TIMEOUT + this.heartbeatEvery);
    this.confirmMode = config.KEYWARD_REVOKE_CONFIRM === 'all';
    this.confirmTimeout = config.KEYWARD_REVOKE_CONFIRM_TIMEOUT;
    if (this.confirmMode && this.confirmTimeout <= this.staleness) {
      this.logger.warn(
        `KEYWARD_REVOKE_CONFIRM_TIMEOUT (${this.confirmTimeout} ms) is not above 2 x KEYWARD_LISTENER_HEARTBEAT ` +
          `(${this.staleness} ms): changes answered within that long of a listener (re)connecting will say timeout`,
      );
    }
  }

  /**
   * An instance is live while its heartbeats arrive: one not heard for this long is no longer waited for.
   * It must be at least 2·H: an instance trusts its cache only up to 2·H after sending a heartbeat that
   * came back, and this instance receives every heartbeat no earlier than it was sent, so an instance
   * silent for 2·H serves nothing from its cache until it has caught up (through the barrier) again.
   */
  get presenceWindow(): number {
    return 4 * this.heartbeatEvery;
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
    // Without a cache there is nothing to invalidate here; with confirmations on, the listener still runs
    // so that this instance hears the acknowledgements of the others.
    if (!this.cache.enabled && !this.confirmMode) return;
    const pglite = this.db.handle.pglite;
    if (pglite) {
      // One process: every change to the embedded database is made here, and its notifications reach
      // these callbacks in commit order (queued as microtasks while the committing statement answers).
      this.phase = 'embedded';
      this.cache.trustAlways();
      this.unlisten = [
        await pglite.listen(TOKEN_CHANGED_CHANNEL, (id) => this.tokenChanged(id)),
        await pglite.listen(PROJECT_CHANGED_CHANNEL, () => this.projectChanged()),
        await pglite.listen(HEARTBEAT_CHANNEL, (payload) => this.heard(payload)),
      ];
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
      else if (msg.channel === BARRIER_CHANNEL) this.barrier(msg.payload);
      else if (msg.channel === ACK_CHANNEL) this.acknowledged(msg.payload);
      else if (msg.channel === TOKEN_CHANGED_CHANNEL && msg.payload) {
        this.db.replicaReads.changed(msg.payload); // before the cache: a refill must not come from a lagging replica
        this.tokenChanged(msg.payload);
      } else if (msg.channel === PROJECT_CHANGED_CHANNEL) this.projectChanged();
    });
    client.on('error', (err) => this.lose(client, err));
    client.on('end', () => this.lose(client, new Error('connection ended')));
    try {
      await client.connect();
      await client.query(`LISTEN ${TOKEN_CHANGED_CHANNEL}`);
      await client.query(`LISTEN ${PROJECT_CHANGED_CHANNEL}`);
      await client.query(`LISTEN ${HEARTBEAT_CHANNEL}`);
      await client.query(`LISTEN ${BARRIER_CHANNEL}`);
      await client.query(`LISTEN ${ACK_CHANNEL}`);
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

  /** Sends heartbeat number `seq` (payload `<instance>:<session>:<sent at>:<seq>`); rejects if the send failed. */
  private sendHeartbeat(seq = ++this.sent): Promise<unknown> {
    const payload = `${this.nonce}:${this.session}:${Date.now()}:${seq}`;
    // Through the pool, not the listening connection: it proves the listener receives others' commits.
    const sending = this.db.sql.query('SELECT pg_notify($1, $2)', [HEARTBEAT_CHANNEL, payload]);
    sending.catch(() => undefined);
    return sending;
  }

  /** A token's row changed (or went): its cached results, and those of the tokens created through it, go. */
  private tokenChanged(id: string): void {
    if (id) this.cache.invalidate(id);
  }

  /** A project was created, renamed or deleted: which projects tokens-file entries reach may have changed. */
  private projectChanged(): void {
    this.cache.clear();
  }

  /**
   * The configured credentials (admin token, tokens files) were replaced: cached verdicts may name
   * entries that were just removed or disabled. Local configuration, so no notification: dropped here.
   */
  credentialsReplaced(): void {
    this.cache.clear();
  }

  /**
   * Resolves once this instance's cache has applied every change committed before the call: a change
   * route awaits it before answering (`@ConfirmsInvalidation()`), so the instance that answered never
   * serves from its cache what the change revoked, disabled or narrowed.
   *
   * It sends a numbered heartbeat through the pool and waits until this listener receives it (or a later
   * one): PostgreSQL delivers notifications in commit order, and the heartbeat was sent after the change
   * committed, so the change's notifications were received, and applied synchronously, before it. On
   * PGlite the same goes through the embedded LISTEN. Without a listener connection nothing read before
   * the next one is trusted on the normal path (a new session), but the outage fallback could still
   * serve it: the cache is cleared, and the answer does not wait. If the heartbeat does not come back
   * within 2·H (the connection is lost, or stalls), the cache is cleared too: by then it trusts no
   * heartbeat sent before the change (see `confirm`), and whatever it holds may predate the change.
   */
  ownChangesApplied(): Promise<void> {
    if (!this.cache.enabled || this.phase === 'disabled' || this.phase === 'stopped') return Promise.resolve();
    if (this.phase !== 'embedded' && !this.client) {
      this.ownWaitsUnconfirmed++;
      this.cache.clear();
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const wait: OwnWait = {
        seq: ++this.sent,
        session: this.session,
        done: (applied) => {
          if (!this.ownWaits.delete(wait)) return;
          clearTimeout(timer);
          if (!applied) {
            this.ownWaitsUnconfirmed++;
            this.cache.clear();
          }
          resolve();
        },
      };
      const timer = setTimeout(() => wait.done(false), this.staleness);
      this.ownWaits.add(wait);
      this.sendHeartbeat(wait.seq).catch(() => wait.done(false));
    });
  }

  /** Heartbeat `seq` of this session came back: every wait for it or an earlier one is over. */
  private reached(seq: number): void {
    for (const wait of this.ownWaits) if (wait.session === this.session && wait.seq <= seq) wait.done(true);
  }

  /** Ends every wait without its heartbeat (connection lost, shutdown): see `ownChangesApplied`. */
  private abandonOwnWaits(): void {
    for (const wait of [...this.ownWaits]) wait.done(false);
  }

  private heard(payload: string | undefined): void {
    const [nonce, session, sentAt, seq] = (payload ?? '').split(':');
    if (nonce !== this.nonce && INSTANCE_ID.test(nonce)) return this.peerHeard(nonce, session);
    if (nonce !== this.nonce || Number(session) !== this.session) return; // another instance's, or an old session's
    if (seq !== undefined) this.reached(Number(seq));
    const sent = Number(sentAt);
    if (!(sent >= this.sessionStartedAt) || sent <= this.lastHeard) return;
    this.lastHeard = sent;
    this.cache.confirm(sent, this.staleness);
    this.firstHeartbeat?.();
  }

  /** Presence: another instance's heartbeat (or its goodbye). */
  private peerHeard(peer: string, session: string): void {
    this.peers.delete(peer); // re-inserted last: the map stays ordered by last heartbeat
    if (session !== GONE) {
      this.peers.set(peer, Date.now());
      this.livePeers(); // forgets the silent ones
      return;
    }
    for (const [id, p] of this.pending) {
      if (p.required?.delete(peer)) this.settle(id, p);
    }
  }

  /**
   * Instances sharing the database whose listener this one hears (itself included): 1 on PGlite, 0
   * without a listener (cache off and KEYWARD_REVOKE_CONFIRM=off). Read by the metrics.
   */
  get liveInstances(): number {
    if (this.phase === 'disabled') return 0;
    return this.phase === 'embedded' ? 1 : this.livePeers().size + 1;
  }

  /** The peers heard from within the presence window. */
  private livePeers(): Set<string> {
    const since = Date.now() - this.presenceWindow;
    for (const [peer, at] of this.peers) {
      if (at >= since) break;
      this.peers.delete(peer);
    }
    return new Set(this.peers.keys());
  }

  /**
   * KEYWARD_REVOKE_CONFIRM=all: called after a change committed. Sends a barrier notification through
   * the pool; PostgreSQL delivers notifications in commit order, so a listener receiving it has already
   * received (and, synchronously, applied) every token change committed before it. Each other instance
   * acknowledges on ACK_CHANNEL. When this instance's own barrier comes back, the live instances are
   * those heard from within the presence window (any instance trusting its cache on a heartbeat
   * committed before the barrier has been heard by then); the answer waits for each of them, or for
   * KEYWARD_REVOKE_CONFIRM_TIMEOUT. Within 2·H of this listener's (re)connection it also waits for that
   * to pass (heartbeats sent before it were not heard here). On PGlite there is one instance: confirmed
   * at once.
   */
  confirmInvalidation(): Promise<InvalidationOutcome> {
    if (this.phase === 'embedded') {
      this.confirmations.confirmed++;
      return Promise.resolve({ confirmed: true, acknowledged: 1, instances: 1 });
    }
    const id = randomBytes(8).toString('hex');
    return new Promise((resolve) => {
      const timer = setTimeout(() => pending.finish(false), this.confirmTimeout);
      const pending: PendingConfirmation = {
        required: null,
        notBefore: 0,
        acked: new Set(),
        wait: null,
        finish: (confirmed) => {
          clearTimeout(timer);
          if (pending.wait) clearTimeout(pending.wait);
          this.pending.delete(id);
          const live = new Set([...(pending.required ?? this.livePeers()), ...pending.acked]);
          const acknowledged = 1 + pending.acked.size;
          this.confirmations[confirmed ? 'confirmed' : 'timeout']++;
          if (!confirmed) {
            this.logger.warn(
              `invalidation acknowledged by ${acknowledged} of ${live.size + 1} instances within ` +
                `${this.confirmTimeout} ms${pending.required ? '' : " (this instance's listener did not receive it)"}`,
            );
          }
          resolve({ confirmed, acknowledged, instances: live.size + 1 });
        },
      };
      this.pending.set(id, pending);
      this.db.sql.query('SELECT pg_notify($1, $2)', [BARRIER_CHANNEL, `${this.nonce}:${id}`]).catch(() => undefined);
    });
  }

  private barrier(payload: string | undefined): void {
    const [origin, id] = (payload ?? '').split(':');
    if (!INSTANCE_ID.test(origin) || !CHANGE_ID.test(id ?? '')) return;
    if (origin !== this.nonce) {
      // Every change committed before the barrier has been applied here (notifications are handled in order).
      this.db.sql.query('SELECT pg_notify($1, $2)', [ACK_CHANNEL, `${id}:${this.nonce}`]).catch(() => undefined);
      return;
    }
    const pending = this.pending.get(id);
    if (!pending || pending.required) return;
    // Every heartbeat committed since this session began listening (S) and before the barrier has been
    // received: an instance trusting its cache on one of them is live here. One trusting it on an older
    // heartbeat, unseen here, stops trusting by S + 2·H: until then, no confirmation.
    pending.required = this.livePeers();
    pending.notBefore = this.sessionStartedAt + this.staleness;
    this.settle(id, pending);
  }

  private acknowledged(payload: string | undefined): void {
    const [id, peer] = (payload ?? '').split(':');
    const pending = this.pending.get(id);
    if (!pending || !INSTANCE_ID.test(peer ?? '')) return;
    pending.acked.add(peer);
    this.settle(id, pending);
  }

  private settle(id: string, pending: PendingConfirmation): void {
    if (!pending.required || !this.pending.has(id)) return;
    for (const peer of pending.required) if (!pending.acked.has(peer)) return;
    const early = pending.notBefore - Date.now();
    if (early <= 0) return pending.finish(true);
    pending.wait ??= setTimeout(() => {
      pending.wait = null;
      this.settle(id, pending);
    }, early);
  }

  private lose(client: pg.Client, err: Error): void {
    if (this.stopped || (this.client !== null && this.client !== client)) return;
    const wasConnected = this.client === client;
    this.client = null;
    destroyClient(client);
    this.db.replicaReads.suspend();
    if (wasConnected) this.cache.newSession();
    this.abandonOwnWaits();
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

  /** Tells the other instances not to wait for this one's acknowledgements any more. */
  async beforeApplicationShutdown(): Promise<void> {
    if (!this.client) return;
    await Promise.race([
      this.db.sql
        .query('SELECT pg_notify($1, $2)', [HEARTBEAT_CHANNEL, `${this.nonce}:${GONE}:0`])
        .catch(() => undefined),
      new Promise((r) => setTimeout(r, 500).unref()),
    ]);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    this.phase = 'stopped';
    if (this.retry) clearTimeout(this.retry);
    if (this.ticker) clearInterval(this.ticker);
    for (const p of [...this.pending.values()]) p.finish(false);
    this.abandonOwnWaits();
    for (const unlisten of this.unlisten ?? []) await unlisten().catch(() => undefined);
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
