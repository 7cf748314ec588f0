import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatabaseService } from '../../src/database/database.service.js';
import { PasswordHasher } from '../../src/verification/password-hasher.js';
import { TokenCache } from '../../src/verification/token-cache.service.js';
import { TokenCodec } from '../../src/verification/token-codec.js';
import { ADMIN_TOKEN, calyptiaErrorOf, client, type Client, startApp, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

/**
 * The verification engine's invariants, attacked from outside over HTTP: one argon2 verification per
 * presented value and cache window whatever the verdict, authorization failures throttled, forward auth
 * throttled and audited like the guard, invalidations that touch only their own entries, bounded
 * failed-authentication audit rows, strict dates, and a /metrics that needs a token. Client addresses
 * come from X-Forwarded-For (KEYWARD_TRUST_PROXY).
 */
const SLOW = 600_000;
const codec = new TokenCodec('kw_');

let db: TestDatabase;
const apps: TestApp[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  for (const a of apps) await a.close();
  await db?.drop();
});

/** A fresh app (fresh buckets and caches) on the file's database; the previous one is closed first (PGlite allows one). */
async function app(env: Record<string, string> = {}) {
  while (apps.length) await apps.pop()!.close();
  const t = await startApp({ KEYWARD_TRUST_PROXY: 'true', KEYWARD_THROTTLE_WINDOW: '10m', ...env }, db);
  apps.push(t);
  return { t, api: client(t.url), hasher: t.app.get(PasswordHasher) };
}

const from = (address: string) => ({ 'x-forwarded-for': address });

async function singleUseReadToken(api: Client): Promise<string> {
  const res = await api.post('/auth/tokens', { ttl: '1h', remove_on_use: true, permissions: ['read:token'] });
  expect(res.status).toBe(201);
  return res.body.token as string;
}

async function until(check: () => Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`condition not met within ${ms} ms`);
}

describe('the verification engine', () => {
  it(
    'one argon2 verification per presented value and cache window, whatever the verdict (FORBIDDEN single-use, DISABLED, USED)',
    async () => {
      const { api, hasher } = await app({ KEYWARD_AUTH_CACHE_TTL: '10m' });
      const forbidden = await singleUseReadToken(api);
      const used = await singleUseReadToken(api);
      const disabled = (await api.post('/api-token/create', { access: 'read' })).body;
      expect((await api.post('/api-token/disable', { id: disabled.id })).status).toBe(200);
      const check = (token: string, permission: string) =>
        api.get(`/v1/auth/check?permission=${permission}`, { token, headers: from('198.51.100.10') });
      expect((await check(used, 'read:token')).status).toBe(200); // consumed by its one 200

      const before = hasher.stats.verifies;
      for (let i = 0; i < 15; i++) {
        expect((await check(forbidden, 'delete:token')).status).toBe(403);
        expect((await check(disabled.token, 'read:token')).status).toBe(401);
        expect((await check(used, 'read:token')).status).toBe(401);
      }
      // At most one per value (the USED one may have been identified by its 200 already).
      expect(hasher.stats.verifies - before).toBeLessThanOrEqual(3);
      // The single-use token was never consumed by its 403s, and still passes once.
      expect((await check(forbidden, 'read:token')).status).toBe(200);
      expect((await check(forbidden, 'read:token')).status).toBe(401);
    },
    SLOW,
  );

  it(
    'authorization failures count toward the throttle: a read-only token asking forward auth for delete:token gets 429',
    async () => {
      const { api } = await app({ KEYWARD_THROTTLE_ADDRESS: '1000', KEYWARD_THROTTLE_TOKEN: '10' });
      const token = await singleUseReadToken(api);
      const statuses: number[] = [];
      for (let i = 0; i < 40; i++) {
        const res = await api.get('/v1/auth/check?permission=delete:token', { token, headers: from('203.0.113.9') });
        statuses.push(res.status);
      }
      expect(statuses.slice(0, 10)).toEqual(new Array(10).fill(403));
      expect(statuses.slice(10).every((s) => s === 429)).toBe(true);
      // The same through the guard (a route needing delete:token) and the verify API.
      const guarded = await api.post('/api-token/revoke', { id: '00000000-0000-4000-8000-000000000000' }, { token });
      expect(guarded.status).toBe(429);
      const verified = await api.post('/v1/tokens/verify', { token, permission: 'delete:token' });
      expect(verified.status).toBe(429);
    },
    SLOW,
  );

  it(
    'forward auth is throttled per client address and audited like the guard',
    async () => {
      const { t, api } = await app({ KEYWARD_THROTTLE_ADDRESS: '10', KEYWARD_THROTTLE_TOKEN: '1000' });
      expect((await api.get('/v1/audit?limit=1')).status).toBe(200); // the admin token is cached before the flood
      const statuses: number[] = [];
      for (let i = 0; i < 30; i++) {
        const garbage = codec.generate().token;
        statuses.push((await api.get('/v1/auth/check', { token: garbage, headers: from('192.0.2.55') })).status);
      }
      expect(statuses.filter((s) => s === 401)).toHaveLength(10);
      expect(statuses.filter((s) => s === 429)).toHaveLength(20);
      // Another address is not affected, and the failures are in the audit trail.
      expect(
        (await api.get('/v1/auth/check', { token: codec.generate().token, headers: from('192.0.2.56') })).status,
      ).toBe(401);
      await until(async () => {
        const rows = await t.app
          .get(DatabaseService)
          .sql.query(
            `SELECT coalesce(sum(count), 0)::int AS n FROM audit_events WHERE action = 'auth.failed' AND client_address = '192.0.2.55'`,
          );
        return Number(rows[0].n) === 10;
      }, 60_000);
    },
    SLOW,
  );

  it(
    "an invalidation affects only the entries it concerns: toggling one token does not keep others' verdicts out of the cache",
    async () => {
      const { t, api } = await app({ KEYWARD_AUTH_CACHE_TTL: '10m' });
      const cache = t.app.get(TokenCache);
      const toggled = (await api.post('/api-token/create', { access: 'read' })).body.id as string;
      const fresh: string[] = [];
      for (let i = 0; i < 10; i++) fresh.push((await api.post('/api-token/create', { access: 'read' })).body.token);
      let toggling = true;
      const toggler = (async () => {
        let enabled = true;
        while (toggling) {
          enabled = !enabled;
          await api.post(enabled ? '/api-token/enable' : '/api-token/disable', { id: toggled });
        }
      })();
      try {
        for (const token of fresh) {
          for (let use = 0; use < 3; use++) {
            expect((await api.post('/api-token/list', {}, { token })).status).toBe(200);
          }
        }
      } finally {
        toggling = false;
        await toggler;
      }
      const cached = fresh.filter((token) => cache.get(cache.keyOf(token)) !== undefined);
      expect(cached).toHaveLength(fresh.length);
    },
    SLOW,
  );

  it(
    'failed-authentication audit rows are bounded per minute whatever the number of client addresses',
    async () => {
      const { t, api } = await app({ KEYWARD_THROTTLE_ADDRESS: '1000', KEYWARD_THROTTLE_TOKEN: '1000' });
      const sql = t.app.get(DatabaseService).sql;
      await sql.query(`DELETE FROM audit_events WHERE action = 'auth.failed'`);
      const N = 400;
      for (let i = 0; i < N; i += 20) {
        await Promise.all(
          Array.from({ length: 20 }, (_, j) =>
            api.post(
              '/api-token/list',
              {},
              {
                token: codec.generate().token,
                headers: from(`10.${(i + j) >> 8}.${(i + j) & 255}.1`),
              },
            ),
          ),
        );
      }
      await until(async () => {
        const rows = await sql.query(
          `SELECT count(*)::int AS rows, coalesce(sum(count), 0)::int AS n FROM audit_events WHERE action = 'auth.failed'`,
        );
        return Number(rows[0].n) >= N;
      }, 120_000);
      // At most 100 distinct rows a minute plus one aggregate per verdict (all NOT_FOUND here).
      const perMinute = await sql.query(
        `SELECT date_trunc('minute', created_at) AS minute, count(*)::int AS rows FROM audit_events
          WHERE action = 'auth.failed' GROUP BY 1`,
      );
      for (const m of perMinute) expect(Number(m.rows)).toBeLessThanOrEqual(100 + 1);
    },
    SLOW,
  );

  it('project token dates are strict RFC 3339 (400 with the envelope, never 500 nor shifted); audit since takes a duration', async () => {
    const { api } = await app();
    const project = (await api.post('/v1/projects', { name: `dates-${Date.now()}` })).body;
    for (const expiresAt of ['2030-02-30T00:00:00Z', '2030-12-31T23:59:60Z', '2030-12-31 23:59:59Z']) {
      const res = await api.post(`/v1/projects/${project.id}/tokens`, {
        name: `t-${expiresAt}`,
        permissions: ['read:token'],
        expiresAt,
      });
      expect(res.status, expiresAt).toBe(400);
      expect(calyptiaErrorOf(res).detail, expiresAt).toMatch(/expiresAt/);
    }
    const ok = await api.post(`/v1/projects/${project.id}/tokens`, {
      name: 'ok',
      permissions: ['read:token'],
      expiresAt: '2030-02-28T12:00:00Z',
    });
    expect(ok.status).toBe(201);
    expect(ok.body.expiresAt).toBe('2030-02-28T12:00:00.000Z');

    const recent = await api.get('/v1/audit?since=1h&limit=5');
    expect(recent.status).toBe(200);
    expect(recent.body.length).toBeGreaterThan(0);
    expect((await api.get('/v1/audit?since=soon')).status).toBe(400);
  });

  it('/metrics needs a token: the admin token or one holding read:metrics, not one without it, unless KEYWARD_METRICS_PUBLIC', async () => {
    const { api } = await app();
    expect((await api.get('/metrics', { token: null })).status).toBe(401);
    expect((await api.get('/metrics', { token: ADMIN_TOKEN })).status).toBe(200);
    const scraper = await api.post('/api-token/create', { access: 'read' });
    const metricsOnly = await api.post('/auth/tokens', { ttl: '1h', permissions: ['read:metrics'] });
    const tokenReader = await api.post('/auth/tokens', { ttl: '1h', permissions: ['read:token'] });
    expect((await api.get('/metrics', { token: scraper.body.token })).status).toBe(200);
    expect((await api.get('/metrics', { token: metricsOnly.body.token })).status).toBe(200);
    expect((await api.get('/metrics', { token: tokenReader.body.token })).status).toBe(403);

    const open = await app({ KEYWARD_METRICS_PUBLIC: 'true' });
    expect((await open.api.get('/metrics', { token: null })).status).toBe(200);
  });
});
