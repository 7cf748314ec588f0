import { describe, expect, it, vi } from 'vitest';
import { DatabaseService } from '../../src/database/database.service.js';
import { UsageRepository } from '../../src/verification/usage.repository.js';
import { client, startSibling, useApp } from '../support/app.js';
import { createApiToken } from '../support/projects.js';

const t = useApp();
const api = t.api;

const create = (body: Record<string, unknown>) => createApiToken(api, body);

describe('usage credits', () => {
  it('each VALID verify or forward-auth pass takes one; none left is USAGE_EXCEEDED; answers show what remains', async () => {
    const { token, id } = await create({ remaining: 3 });
    const first = await api.post('/v1/tokens/verify', { token });
    expect(first.body).toMatchObject({ valid: true, code: 'VALID', remaining: 2 });
    const pass = await api.get('/v1/auth/check', { token });
    expect(pass.status).toBe(200);
    expect(pass.headers.get('x-keyward-remaining')).toBe('1');
    expect((await api.post('/v1/tokens/verify', { token })).body.remaining).toBe(0);
    const none = await api.post('/v1/tokens/verify', { token });
    expect(none.body).toMatchObject({ valid: false, code: 'USAGE_EXCEEDED', remaining: 0 });
    const refused = await api.get('/v1/auth/check', { token });
    expect(refused.status).toBe(403);
    // A refused check (missing scope) takes nothing.
    const { token: other } = await create({ remaining: 1 });
    expect((await api.post('/v1/tokens/verify', { token: other, scopes: ['x:y'] })).body.code).toBe('FORBIDDEN');
    expect((await api.post('/v1/tokens/verify', { token: other })).body.remaining).toBe(0);
    const listed = await api.post('/api-token/list', { pagination: { limit: 100 } });
    expect(listed.body.data.find((d: { id: string }) => d.id === id).remaining).toBe(0);
  });

  it('tokens without credits report none and never run out', async () => {
    const { token } = await create({});
    const res = await api.post('/v1/tokens/verify', { token });
    expect(res.body.code).toBe('VALID');
    expect(res.body.remaining).toBeUndefined();
  });

  it('refill tops the credits up to the amount once per interval', async () => {
    const { token, id } = await create({ remaining: 1, refill: { amount: 5, interval: 60_000 } });
    expect((await api.post('/v1/tokens/verify', { token })).body.remaining).toBe(0);
    expect((await api.post('/v1/tokens/verify', { token })).body.code).toBe('USAGE_EXCEEDED');
    // Move the last refill back two intervals instead of waiting.
    await t.app
      .get(DatabaseService)
      .sql.query(`UPDATE api_tokens SET refilled_at = now() - interval '2 minutes' WHERE id = $1`, [id]);
    expect((await api.post('/v1/tokens/verify', { token })).body).toMatchObject({ code: 'VALID', remaining: 4 });
  });

  it('refill without remaining, negative credits and a bad refill are 400', async () => {
    for (const body of [
      { refill: { amount: 5, interval: 1000 } },
      { remaining: -1 },
      { remaining: 1.5 },
      { remaining: 1, refill: { amount: 0, interval: 1000 } },
      { remaining: 1, refill: { amount: 1, interval: 10 } },
    ]) {
      expect((await api.post('/api-token/create', { access: 'read', ...body })).status, JSON.stringify(body)).toBe(400);
    }
  });

  it('concurrent passes share statements: 200 at once write fewer than 200 times, each sees its own count', async () => {
    const repo = t.app.get(UsageRepository);
    const batches = vi.spyOn(repo, 'takeCredits');
    const singles = vi.spyOn(repo, 'takeCredit');
    try {
      const { token } = await create({ remaining: 1000 });
      const results = await Promise.all(Array.from({ length: 200 }, () => api.get('/v1/auth/check', { token })));
      expect(results.map((r) => r.status).filter((s) => s !== 200)).toEqual([]);
      const left = results.map((r) => Number(r.headers.get('x-keyward-remaining'))).sort((a, b) => a - b);
      expect(left).toEqual(Array.from({ length: 200 }, (_, i) => 800 + i));
      expect(batches.mock.calls.length + singles.mock.calls.length).toBeLessThan(200);
      // A batch asking for more than is left gives nothing; its passes are then taken one by one.
      const { token: few } = await create({ remaining: 5 });
      const some = await Promise.all(Array.from({ length: 40 }, () => api.get('/v1/auth/check', { token: few })));
      expect(some.filter((r) => r.status === 200)).toHaveLength(5);
      expect(some.filter((r) => r.status === 403)).toHaveLength(35);
    } finally {
      batches.mockRestore();
      singles.mockRestore();
    }
  });

  it('exact across 3 instances: 500 concurrent uses of 100 credits give exactly 100 passes', async () => {
    const sameDb = t.db.mode === 'postgres';
    // On PGlite each sibling would have its own database: there, all 500 go to the one instance.
    const siblings = sameDb ? [await startSibling(t, {}), await startSibling(t, {})] : [];
    try {
      const targets = [t, ...siblings];
      const { token } = await create({ remaining: 100 });
      const results = await Promise.all(
        Array.from({ length: 500 }, (_, i) => client(targets[i % targets.length].url).get('/v1/auth/check', { token })),
      );
      const passes = results.filter((r) => r.status === 200).length;
      expect(passes).toBe(100);
      // Everything else is refused: 403 (no credits left), or 503 if the loaded database timed out.
      expect(results.filter((r) => r.status !== 200 && r.status !== 403 && r.status !== 503)).toEqual([]);
      expect((await api.post('/v1/tokens/verify', { token })).body.code).toBe('USAGE_EXCEEDED');
    } finally {
      await Promise.all(siblings.map((s) => s.close()));
    }
  }, 240_000);
});
