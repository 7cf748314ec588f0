import { describe, expect, it } from 'vitest';
import { DatabaseService } from '../../src/database/database.service.js';
import { client, startSibling, useApp } from '../support/app.js';
import { createApiToken } from '../support/projects.js';

const t = useApp();
const api = t.api;

const create = (body: Record<string, unknown>) => createApiToken(api, body);

/** Points taken from the token's shared window in `ratelimits` (PostgreSQL), over all its keys. */
async function windowPoints(id: string): Promise<number> {
  const rows = await t.app
    .get(DatabaseService)
    .sql.query<{ points: number }>('SELECT coalesce(sum(points), 0)::int AS points FROM ratelimits WHERE key LIKE $1', [
      `%:${id}`,
    ]);
  return rows[0].points;
}

describe('per-token rate limits', () => {
  it('verify answers RATE_LIMITED with the reset time once the window is used up', async () => {
    const { token } = await create({ ratelimit: { limit: 3, duration: 60_000 } });
    const codes: string[] = [];
    let last;
    for (let i = 0; i < 5; i++) {
      last = await api.post('/v1/tokens/verify', { token });
      codes.push(last.body.code);
    }
    expect(codes).toEqual(['VALID', 'VALID', 'VALID', 'RATE_LIMITED', 'RATE_LIMITED']);
    expect(last!.body.valid).toBe(false);
    expect(last!.body.ratelimit.limit).toBe(3);
    expect(last!.body.ratelimit.remaining).toBe(0);
    const reset = Date.parse(last!.body.ratelimit.reset);
    expect(reset).toBeGreaterThan(Date.now());
    expect(reset).toBeLessThanOrEqual(Date.now() + 61_000);
  });

  it('forward auth answers 429 with Retry-After and RateLimit-* headers', async () => {
    const { token } = await create({ ratelimit: { limit: 2, duration: 60_000 } });
    const ok = await api.get('/v1/auth/check', { token });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('ratelimit-limit')).toBe('2');
    expect(ok.headers.get('ratelimit-remaining')).toBe('1');
    expect(Number(ok.headers.get('ratelimit-reset'))).toBeGreaterThan(0);
    expect((await api.get('/v1/auth/check', { token })).status).toBe(200);
    const limited = await api.get('/v1/auth/check', { token });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.headers.get('ratelimit-remaining')).toBe('0');
    expect(limited.body.error.code).toBe('rate_limited');
  });

  it('tokens without a limit carry no rate-limit headers', async () => {
    const { token } = await create({});
    const ok = await api.get('/v1/auth/check', { token });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('ratelimit-limit')).toBeNull();
  });

  it('small limits stay exact across 3 instances sharing the database (PostgreSQL)', async () => {
    if (t.db.mode !== 'postgres') return; // the embedded database serves one process: its limiter is in memory
    const others = [await startSibling(t, {}), await startSibling(t, {})];
    try {
      const { token } = await create({ ratelimit: { limit: 30, duration: 60_000 } });
      const all = [t, ...others];
      // Waves of 15 concurrent checks over the three instances; limits up to 100 take one point per write.
      const results = [];
      for (let wave = 0; wave < 6; wave++) {
        results.push(
          ...(await Promise.all(
            Array.from({ length: 15 }, (_, i) => client(all[i % 3].url).get('/v1/auth/check', { token })),
          )),
        );
      }
      expect(results.filter((r) => r.status === 200).length).toBe(30);
      expect(results.filter((r) => r.status !== 200 && r.status !== 429)).toEqual([]);
    } finally {
      await Promise.all(others.map((o) => o.close()));
    }
  }, 240_000);

  it('a large limit is taken in leases: one write per lease, shared by concurrent passes', async () => {
    if (t.db.mode !== 'postgres') return; // the embedded database writes nothing: its limiter is in memory
    const { id, token } = await create({ ratelimit: { limit: 1_000_000, duration: 3_600_000 } });
    // 40 concurrent passes on one instance share one lease request of L = 1,000 points (2 % of the
    // limit, at most 1,000): the window's row holds 1,000 points, not 40 (one write per pass) nor
    // 40,000 (one lease per pass).
    const burst = await Promise.all(Array.from({ length: 40 }, () => api.get('/v1/auth/check', { token })));
    expect(burst.map((r) => r.status)).toEqual(Array(40).fill(200));
    expect(await windowPoints(id)).toBe(1000);
    // RateLimit-Remaining on one instance stays exact: limit minus the passes made.
    const remaining = burst.map((r) => Number(r.headers.get('ratelimit-remaining'))).sort((a, b) => a - b);
    expect(remaining).toEqual(Array.from({ length: 40 }, (_, i) => 999_960 + i));
    for (let i = 0; i < 10; i++) expect((await api.get('/v1/auth/check', { token })).status).toBe(200);
    expect(await windowPoints(id)).toBe(1000);
    const verify = await api.post('/v1/tokens/verify', { token });
    expect(verify.body.ratelimit.remaining).toBe(1_000_000 - 51);
  });

  it('never more than the limit across 3 instances under concurrency, at most (N - 1) x L refused early', async () => {
    if (t.db.mode !== 'postgres') return;
    const others = [await startSibling(t, {}), await startSibling(t, {})];
    try {
      const limit = 500;
      const lease = 10; // 2 % of 500
      const { id, token } = await create({ ratelimit: { limit, duration: 3_600_000 } });
      const all = [t, ...others];
      const results = [];
      for (let wave = 0; wave < 10; wave++) {
        results.push(
          ...(await Promise.all(
            Array.from({ length: 70 }, (_, i) => client(all[i % 3].url).get('/v1/auth/check', { token })),
          )),
        );
      }
      const passes = results.filter((r) => r.status === 200).length;
      expect(passes).toBeLessThanOrEqual(limit);
      // 700 asked for 500: the ones refused early are points leased by one instance and unused there.
      expect(limit - passes).toBeLessThanOrEqual((all.length - 1) * lease);
      expect(results.filter((r) => r.status !== 200 && r.status !== 429)).toEqual([]);
      // Every instance refuses now, each from memory (at most one more write each to learn it).
      for (const app of all) expect((await client(app.url).get('/v1/auth/check', { token })).status).toBe(429);
      expect(await windowPoints(id)).toBeGreaterThanOrEqual(limit);
    } finally {
      await Promise.all(others.map((o) => o.close()));
    }
  }, 240_000);

  it('a lease ends with its window: the next window starts with a fresh lease', async () => {
    const { id, token } = await create({ ratelimit: { limit: 1000, duration: 1000 } });
    for (let i = 0; i < 5; i++) expect((await api.get('/v1/auth/check', { token })).status).toBe(200);
    if (t.db.mode === 'postgres') expect(await windowPoints(id)).toBe(20); // one lease of L = 20 (2 % of 1,000)
    await new Promise((r) => setTimeout(r, 1100));
    const next = await api.get('/v1/auth/check', { token });
    expect(next.status).toBe(200);
    // A new window (not the old lease's 15 unspent points): one pass of 1,000.
    expect(next.headers.get('ratelimit-remaining')).toBe('999');
    if (t.db.mode === 'postgres') expect(await windowPoints(id)).toBe(20);
  });

  it('a used-up window resets on every instance', async () => {
    const others = t.db.mode === 'postgres' ? [await startSibling(t, {}), await startSibling(t, {})] : [];
    try {
      const all = [t, ...others];
      const { token } = await create({ ratelimit: { limit: 120, duration: 1000 } });
      // Round robin until every instance has refused once (the window is fully leased).
      const refused = new Set<number>();
      for (let i = 0; refused.size < all.length && i < 2000; i++) {
        const res = await client(all[i % all.length].url).get('/v1/auth/check', { token });
        expect([200, 429]).toContain(res.status);
        if (res.status === 429) refused.add(i % all.length);
      }
      expect(refused.size).toBe(all.length);
      await new Promise((r) => setTimeout(r, 1100));
      for (const app of all) {
        const res = await client(app.url).get('/v1/auth/check', { token });
        expect(res.status).toBe(200);
        expect(Number(res.headers.get('ratelimit-remaining'))).toBeGreaterThan(100);
      }
    } finally {
      await Promise.all(others.map((o) => o.close()));
    }
  }, 240_000);

  it('a bad ratelimit is 400', async () => {
    for (const ratelimit of [{ limit: 0, duration: 1000 }, { limit: 1, duration: 10 }, { limit: 1 }, 5]) {
      expect((await api.post('/api-token/create', { access: 'read', ratelimit })).status).toBe(400);
    }
  });
});
