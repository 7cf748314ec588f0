import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Principal } from '../access/principal.js';
import { DatabaseDownError } from '../common/errors/database-errors.js';
import { loadConfig } from '../config/config.schema.js';
import { TokenCache } from './token-cache.service.js';

const principal = { id: 't1', source: 'database', expiresAt: null } as unknown as Principal;
const cacheWith = (env: Record<string, string> = {}) =>
  new TokenCache(loadConfig({ KEYWARD_AUTH_CACHE_TTL: '30s', KEYWARD_AUTH_OUTAGE_GRACE: '5m', ...env }));

describe('TokenCache: trust in the invalidation listener', () => {
  beforeEach(() => vi.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => vi.useRealTimers());

  it('serves database entries only while a heartbeat confirmed the listener within the bound', () => {
    const cache = cacheWith();
    cache.newSession();
    const key = cache.keyOf('kw_x');
    cache.set(key, principal, ['t1'], null, cache.snapshot());
    expect(cache.get(key)).toBeUndefined(); // no heartbeat yet
    cache.confirm(Date.now(), 2000);
    expect(cache.get(key)).toBe(principal);
    vi.advanceTimersByTime(2001);
    expect(cache.get(key)).toBeUndefined(); // heartbeats stopped coming back: not trusted
    cache.confirm(Date.now(), 2000);
    expect(cache.get(key)).toBe(principal); // same session, caught up again
  });

  it('a new listener session trusts nothing cached before it, but keeps it for outages', () => {
    const cache = cacheWith();
    cache.newSession();
    cache.confirm(Date.now(), 2000);
    const key = cache.keyOf('kw_x');
    cache.set(key, principal, ['t1'], null, cache.snapshot());
    cache.newSession();
    cache.confirm(Date.now(), 2000);
    expect(cache.get(key)).toBeUndefined();
    expect(cache.getDuringOutage(key, new DatabaseDownError())).toBe(principal);
  });

  it('a lookup started before a new session is not cached', () => {
    const cache = cacheWith();
    const snapshot = cache.snapshot();
    cache.newSession();
    cache.set(cache.keyOf('kw_x'), principal, ['t1'], null, snapshot);
    expect(cache.size).toBe(0);
  });

  it('outage fallback: only for "unreachable" errors, only within the grace, never past expiry', () => {
    const cache = cacheWith({ KEYWARD_AUTH_OUTAGE_GRACE: '1m' });
    const key = cache.keyOf('kw_x');
    cache.set(key, principal, ['t1'], new Date(Date.now() + 90_000), cache.snapshot());
    expect(cache.getDuringOutage(key, new Error('syntax error'))).toBeUndefined();
    expect(cache.getDuringOutage(key, new DatabaseDownError())).toBe(principal);
    vi.advanceTimersByTime(60_001);
    expect(cache.getDuringOutage(key, new DatabaseDownError())).toBeUndefined();
  });

  it('a trusted hit counts as a confirmation for the outage grace', () => {
    const cache = cacheWith({ KEYWARD_AUTH_OUTAGE_GRACE: '1m', KEYWARD_AUTH_CACHE_TTL: '1h' });
    cache.newSession();
    const key = cache.keyOf('kw_x');
    cache.set(key, principal, ['t1'], null, cache.snapshot());
    vi.advanceTimersByTime(50_000);
    cache.confirm(Date.now(), 2000);
    expect(cache.get(key)).toBe(principal);
    vi.advanceTimersByTime(50_000); // 100 s after the read, 50 s after the last trusted hit
    expect(cache.getDuringOutage(key, new DatabaseDownError())).toBe(principal);
  });

  it('grace 0: no outage fallback; invalidation removes entries of every session', () => {
    const off = cacheWith({ KEYWARD_AUTH_OUTAGE_GRACE: '0' });
    const k = off.keyOf('kw_x');
    off.set(k, principal, ['t1'], null, off.snapshot());
    expect(off.getDuringOutage(k, new DatabaseDownError())).toBeUndefined();

    const cache = cacheWith();
    const key = cache.keyOf('kw_x');
    cache.set(key, principal, ['t1'], null, cache.snapshot());
    cache.newSession();
    cache.invalidate('t1');
    expect(cache.getDuringOutage(key, new DatabaseDownError())).toBeUndefined();
  });
});

describe('TokenCache: an invalidation affects only the entries it concerns', () => {
  const other = { id: 't2', source: 'database', expiresAt: null } as unknown as Principal;

  it('a fill in flight survives the invalidation of another id, not of its own ids', () => {
    const cache = cacheWith();
    cache.trustAlways();
    const snapshot = cache.snapshot();
    cache.invalidate('t2'); // someone else's token changed while t1 was being looked up
    cache.set(cache.keyOf('kw_a'), principal, ['t1'], null, snapshot);
    expect(cache.get(cache.keyOf('kw_a'))).toBe(principal);
    const late = cache.snapshot();
    cache.invalidate('t1');
    cache.set(cache.keyOf('kw_b'), principal, ['t1'], null, late);
    expect(cache.get(cache.keyOf('kw_b'))).toBeUndefined();
  });

  it('invalidate(id) drops exactly the entries whose ids contain it', () => {
    const cache = cacheWith();
    cache.trustAlways();
    cache.set(cache.keyOf('kw_child'), principal, ['t1', 'parent'], null, cache.snapshot());
    cache.set(cache.keyOf('kw_other'), other, ['t2'], null, cache.snapshot());
    cache.invalidate('parent');
    expect(cache.get(cache.keyOf('kw_child'))).toBeUndefined();
    expect(cache.get(cache.keyOf('kw_other'))).toBe(other);
  });
});

describe('TokenCache: compact entries, same answers', () => {
  const full = (id: string, project: string): Principal =>
    ({
      id,
      source: 'database',
      kind: 'project',
      name: null,
      access: 'read',
      permissions: ['read:token', 'read:project'],
      projects: [project],
      scopes: [],
      expiresAt: null,
      singleUse: false,
      parentId: 'admin',
    }) as unknown as Principal;

  it('equal lists are shared (frozen) between entries; the cached principal is the one stored', () => {
    const cache = cacheWith();
    cache.trustAlways();
    const a = full('t1', 'p1');
    const b = full('t2', 'p1');
    cache.set(cache.keyOf('kw_a'), a, ['t1'], null, cache.snapshot());
    cache.set(cache.keyOf('kw_b'), b, ['t2'], null, cache.snapshot());
    expect(cache.get(cache.keyOf('kw_a'))).toBe(a);
    expect(a.permissions).toEqual(['read:token', 'read:project']);
    expect(a.permissions).toBe(b.permissions);
    expect(a.projects).toBe(b.projects);
    expect(Object.isFrozen(a.permissions)).toBe(true);
  });

  it('an id several entries depend on drops them all; one left behind still is dropped by it', () => {
    const cache = cacheWith();
    cache.trustAlways();
    for (const k of ['kw_1', 'kw_2', 'kw_3'])
      cache.set(cache.keyOf(k), full(k, 'p'), [k, 'parent'], null, cache.snapshot());
    cache.delete(cache.keyOf('kw_1'));
    cache.delete(cache.keyOf('kw_2'));
    expect(cache.size).toBe(1);
    cache.invalidate('parent');
    expect(cache.size).toBe(0);
    cache.set(cache.keyOf('kw_4'), full('kw_4', 'p'), ['kw_4', 'parent'], null, cache.snapshot());
    cache.set(cache.keyOf('kw_5'), full('kw_5', 'p'), ['kw_5', 'parent'], null, cache.snapshot());
    cache.invalidate('parent');
    expect(cache.size).toBe(0);
  });

  describe('with fake timers', () => {
    beforeEach(() => vi.useFakeTimers({ now: 1_000_000 }));
    afterEach(() => vi.useRealTimers());

    it('drops an entry past TTL + outage grace, or past its validity, when it is next read', () => {
      const cache = cacheWith({ KEYWARD_AUTH_CACHE_TTL: '30s', KEYWARD_AUTH_OUTAGE_GRACE: '1m' });
      cache.trustAlways();
      cache.set(cache.keyOf('kw_old'), full('t1', 'p'), ['t1'], null, cache.snapshot());
      cache.set(cache.keyOf('kw_exp'), full('t2', 'p'), ['t2'], new Date(Date.now() + 10_000), cache.snapshot());
      vi.advanceTimersByTime(10_000);
      expect(cache.get(cache.keyOf('kw_exp'))).toBeUndefined();
      expect(cache.size).toBe(1);
      vi.advanceTimersByTime(80_001); // just past 30 s + 1 min
      expect(cache.getDuringOutage(cache.keyOf('kw_old'), new DatabaseDownError())).toBeUndefined();
      expect(cache.size).toBe(0);
    });
  });
});
