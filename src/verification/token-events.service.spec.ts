import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../config/config.schema.js';
import type { DatabaseService } from '../database/database.service.js';
import { TokenCache } from './token-cache.service.js';
import { ACK_CHANNEL, BARRIER_CHANNEL, type InvalidationOutcome, TokenEventsService } from './token-events.service.js';

const B = 'bbbbbbbbbbbb';
const C = 'cccccccccccc';

/**
 * The confirmation logic of KEYWARD_REVOKE_CONFIRM=all, with the notifications fed by hand (the listening
 * connection is not opened): heartbeats of peers B and C, this instance's barrier coming back, acks.
 */
function setup() {
  const config = loadConfig({
    KEYWARD_REVOKE_CONFIRM: 'all',
    KEYWARD_REVOKE_CONFIRM_TIMEOUT: '3s',
    KEYWARD_LISTENER_HEARTBEAT: '1s',
  });
  const sent: Array<[channel: string, payload: string]> = [];
  const db = {
    handle: { pglite: null },
    sql: {
      query: vi.fn(async (_text: string, params: [string, string]) => {
        sent.push(params);
        return { rows: [] };
      }),
    },
  } as unknown as DatabaseService;
  const events = new TokenEventsService(config, db, new TokenCache(config));
  // What the notification handler calls, and the state a connected listener has.
  const internal = events as unknown as {
    nonce: string;
    phase: string;
    sessionStartedAt: number;
    heard(payload: string): void;
    barrier(payload: string): void;
    acknowledged(payload: string): void;
  };
  internal.phase = 'healthy';
  internal.sessionStartedAt = Date.now() - 60_000;
  const heartbeat = (peer: string) => internal.heard(`${peer}:1:${Date.now()}`);
  /** Starts a confirmation and returns its change id and a way to read its outcome. */
  const confirm = () => {
    let outcome: InvalidationOutcome | null = null;
    void events.confirmInvalidation().then((o) => (outcome = o));
    const [channel, payload] = sent.at(-1)!;
    expect(channel).toBe(BARRIER_CHANNEL);
    const id = payload.split(':')[1];
    return {
      id,
      barrierBack: () => internal.barrier(payload),
      ack: (peer: string) => internal.acknowledged(`${id}:${peer}`),
      outcome: () => outcome,
    };
  };
  return { events, internal, sent, heartbeat, confirm };
}

describe('TokenEventsService: confirmation of an invalidation by every live instance', () => {
  beforeEach(() => vi.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => vi.useRealTimers());

  it('waits for every peer heard when its own barrier came back, then confirms', async () => {
    const { heartbeat, confirm } = setup();
    heartbeat(B);
    heartbeat(C);
    const change = confirm();
    change.ack(B); // an ack before the barrier is back still counts
    change.barrierBack();
    await vi.advanceTimersByTimeAsync(0);
    expect(change.outcome()).toBeNull();
    change.ack(C);
    await vi.advanceTimersByTimeAsync(0);
    expect(change.outcome()).toEqual({ confirmed: true, acknowledged: 3, instances: 3 });
  });

  it('answers after the timeout with the count of those that acknowledged', async () => {
    const { events, heartbeat, confirm } = setup();
    heartbeat(B);
    heartbeat(C);
    const change = confirm();
    change.barrierBack();
    change.ack(B);
    await vi.advanceTimersByTimeAsync(2999);
    expect(change.outcome()).toBeNull();
    await vi.advanceTimersByTimeAsync(1);
    expect(change.outcome()).toEqual({ confirmed: false, acknowledged: 2, instances: 3 });
    expect(events.confirmations).toEqual({ confirmed: 0, timeout: 1 });
  });

  it('does not wait for a peer silent for 4·H, nor for one that said goodbye', async () => {
    const { internal, heartbeat, confirm, events } = setup();
    heartbeat(B);
    await vi.advanceTimersByTimeAsync(4001);
    heartbeat(C);
    expect(events.liveInstances).toBe(2); // C and this one
    const first = confirm();
    first.barrierBack();
    first.ack(C);
    await vi.advanceTimersByTimeAsync(0);
    expect(first.outcome()).toEqual({ confirmed: true, acknowledged: 2, instances: 2 });

    heartbeat(B);
    const second = confirm();
    second.barrierBack();
    second.ack(C);
    internal.heard(`${B}:gone:0`);
    await vi.advanceTimersByTimeAsync(0);
    expect(second.outcome()).toEqual({ confirmed: true, acknowledged: 2, instances: 2 });
  });

  it('within 2·H of its listener connecting, waits those out (older heartbeats were not heard here)', async () => {
    const { internal, confirm } = setup();
    internal.sessionStartedAt = Date.now() - 500;
    const change = confirm();
    change.barrierBack();
    await vi.advanceTimersByTimeAsync(1499);
    expect(change.outcome()).toBeNull();
    await vi.advanceTimersByTimeAsync(1);
    expect(change.outcome()).toEqual({ confirmed: true, acknowledged: 1, instances: 1 });
  });

  it("acknowledges another instance's barrier with its own id", () => {
    const { internal, sent } = setup();
    internal.barrier(`${B}:0123456789abcdef`);
    expect(sent.at(-1)).toEqual([ACK_CHANNEL, `0123456789abcdef:${internal.nonce}`]);
    internal.barrier(`${B}:not-an-id`);
    expect(sent).toHaveLength(1);
  });
});

describe('TokenEventsService: a change route waits for its own listener', () => {
  beforeEach(() => vi.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => vi.useRealTimers());

  /** A connected listener in session 1, whose cache clears are counted. */
  function connected() {
    const s = setup();
    const internal = s.internal as typeof s.internal & { client: unknown; session: number; sendHeartbeat(): unknown };
    internal.client = {};
    internal.session = 1;
    const cache = (s.events as unknown as { cache: TokenCache }).cache;
    const clear = vi.spyOn(cache, 'clear');
    let answered = false;
    const wait = () => void s.events.ownChangesApplied().then(() => (answered = true));
    return { ...s, internal, clear, wait, answered: () => answered };
  }

  it('answers once a heartbeat sent after the change came back (one sent before does not count)', async () => {
    const { internal, sent, clear, wait, answered } = connected();
    internal.sendHeartbeat(); // a periodic one, sent before the change committed
    const before = sent.at(-1)![1];
    wait();
    const after = sent.at(-1)![1];
    expect(after).not.toBe(before);
    internal.heard(before);
    await vi.advanceTimersByTimeAsync(0);
    expect(answered()).toBe(false);
    internal.heard(after);
    await vi.advanceTimersByTimeAsync(0);
    expect(answered()).toBe(true);
    expect(clear).not.toHaveBeenCalled();
  });

  it('when its heartbeat does not come back within 2·H, clears the cache and answers', async () => {
    const { events, clear, wait, answered } = connected();
    wait();
    await vi.advanceTimersByTimeAsync(1999);
    expect(answered()).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(answered()).toBe(true);
    expect(clear).toHaveBeenCalledTimes(1);
    expect(events.ownWaitsUnconfirmed).toBe(1);
  });

  it('without a listener connection, clears the cache and answers at once', async () => {
    const { internal, clear, wait, answered, sent } = connected();
    internal.client = null;
    wait();
    await vi.advanceTimersByTimeAsync(0);
    expect(answered()).toBe(true);
    expect(clear).toHaveBeenCalledTimes(1);
    expect(sent).toHaveLength(0);
  });
});
