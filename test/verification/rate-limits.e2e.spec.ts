import { describe, expect, it } from 'vitest';
import { client, startSibling, useApp } from '../support/app.js';
import { createApiToken } from '../support/projects.js';

const t = useApp();
const api = t.api;

const create = (body: Record<string, unknown>) => createApiToken(api, body);

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

  it('holds across instances sharing the database (PostgreSQL)', async () => {
    if (t.db.mode !== 'postgres') return; // the embedded database serves one process: its limiter is in memory
    const others = [await startSibling(t, {}), await startSibling(t, {})];
    try {
      const { token } = await create({ ratelimit: { limit: 30, duration: 60_000 } });
      const all = [t, ...others];
      // Waves of 15 concurrent checks: exact while the database answers in time (under a pool timeout an
      // instance falls back to its own in-memory window, the documented error).
      const results = [];
      for (let wave = 0; wave < 6; wave++) {
        results.push(
          ...(await Promise.all(
            Array.from({ length: 15 }, (_, i) => client(all[i % 3].url).get('/v1/auth/check', { token })),
          )),
        );
      }
      // Measured: 30 to 34 passes of 90 on a loaded 2-core machine; the bound asserted is 1.5 x limit.
      const passes = results.filter((r) => r.status === 200).length;
      expect(passes).toBeGreaterThanOrEqual(30);
      expect(passes).toBeLessThanOrEqual(45);
      expect(results.filter((r) => r.status !== 200 && r.status !== 429)).toEqual([]);
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
