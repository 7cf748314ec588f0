import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthThrottle } from '../../src/verification/auth-throttle.js';
import { PasswordHasher } from '../../src/verification/password-hasher.js';
import { TokenCache } from '../../src/verification/token-cache.service.js';
import { TokenCodec } from '../../src/verification/token-codec.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { ADMIN_TOKEN, client, envelopeOf, type Res, startApp, type TestApp } from '../support/app.js';

/**
 * Failed authentication is cheap and throttled: per client address and per token, 429 before any argon2
 * work; the real holder keeps working; tokens-file hashes cost nothing for values that cannot be theirs;
 * the argon2 queue is bounded (503). Client addresses come from X-Forwarded-For (KEYWARD_TRUST_PROXY);
 * they are documentation addresses in a header: every request goes to 127.0.0.1.
 */
const ATTACKER = '203.0.113.7';
const HOLDER = '198.51.100.2';
const codec = new TokenCodec('kw_');
const THROTTLE = {
  KEYWARD_TRUST_PROXY: 'true',
  KEYWARD_THROTTLE_ADDRESS: '30',
  KEYWARD_THROTTLE_TOKEN: '10',
  KEYWARD_THROTTLE_WINDOW: '10m',
};

let db: TestDatabase;
const apps: TestApp[] = [];
const dir = mkdtempSync(join(tmpdir(), 'keyward-throttle-'));

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  for (const a of apps) await a.close();
  await db?.drop();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * A fresh app (fresh buckets) on the file's database; the previous one is closed first (PGlite allows one).
 * On PostgreSQL the failure counters are shared through the database: they are emptied too.
 */
async function app(env: Record<string, string>) {
  while (apps.length) await apps.pop()!.close();
  if (db.url) {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    await c.query(`DELETE FROM ratelimits WHERE key LIKE 'authfail%'`).catch(() => undefined); // none before the first start
    await c.end();
  }
  const t = await startApp({ ...THROTTLE, ...env }, db);
  apps.push(t);
  return {
    t,
    api: client(t.url),
    hasher: t.app.get(PasswordHasher),
    throttle: t.app.get(AuthThrottle),
  };
}

const from = (address: string) => ({ 'x-forwarded-for': address });
/** Floods take a while on a busy 2-core machine; nothing here asserts a timing. */
const SLOW = 180_000;

/** `n` requests, `width` at a time, in order of index. */
async function pool<T>(n: number, width: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await fn(i);
      }
    }),
  );
  return out;
}

function expect429(res: Res) {
  expect(res.status, res.text).toBe(429);
  expect(envelopeOf(res).code).toBe('rate_limited');
  expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
}

describe('a flood of wrong secrets for a known lookup id', () => {
  it(
    'gets 429s, costs at most the per-token limit in argon2, and the real token keeps working',
    async () => {
      // The positive cache is off, so the real token is checked with argon2 every time: the hard case.
      const { api, hasher, throttle } = await app({ KEYWARD_AUTH_CACHE_TTL: '0' });
      const made = await api.post('/api-token/create', { access: 'read' });
      const real: string = made.body.token;
      const { lookupId } = codec.parse(real)!;
      const list = (token: string, address: string) =>
        api.post('/api-token/list', { pagination: { limit: 1 } }, { token, headers: from(address) });
      expect((await list(real, HOLDER)).status).toBe(200);

      const before = hasher.stats;
      let realUses = 0;
      const results = await pool(120, 6, async (i) => {
        if (i % 10 === 0) {
          realUses++;
          return { real: true, res: await list(real, HOLDER) };
        }
        // Well-formed (right checksum), right lookup id, wrong secret; from many attacker addresses.
        const forged = codec.generate(lookupId).token;
        return { real: false, res: await list(forged, `203.0.113.${i % 50}`) };
      });
      const after = hasher.stats;

      for (const r of results.filter((r) => r.real)) expect(r.res.status, r.res.text).toBe(200);
      const forged = results.filter((r) => !r.real).map((r) => r.res);
      expect(forged.every((r) => r.status === 401 || r.status === 429)).toBe(true);
      expect(forged.filter((r) => r.status === 401).length).toBeLessThanOrEqual(10);
      for (const r of forged.filter((r) => r.status === 429)) expect429(r);
      expect(forged.filter((r) => r.status === 429).length).toBeGreaterThanOrEqual(forged.length - 10);
      // argon2: one per real use, plus at most the per-token limit for the forged ones.
      expect(after.verifies - before.verifies).toBeLessThanOrEqual(realUses + 10);
      expect(throttle.stats.throttledByToken).toBeGreaterThan(0);
    },
    SLOW,
  );

  it(
    'tokens cached as valid are never throttled',
    async () => {
      const { api } = await app({});
      const made = await api.post('/api-token/create', { access: 'read' });
      const { lookupId } = codec.parse(made.body.token)!;
      const list = (token: string, address: string) =>
        api.post('/api-token/list', {}, { token, headers: from(address) });
      expect((await list(made.body.token, ATTACKER)).status).toBe(200);
      // The same address and lookup id, both far over their limits...
      for (let i = 0; i < 40; i++) await list(codec.generate(lookupId).token, ATTACKER);
      expect429(await list(codec.generate(lookupId).token, ATTACKER));
      // ...and the real token from that very address still works.
      expect((await list(made.body.token, ATTACKER)).status).toBe(200);
    },
    SLOW,
  );
});

describe('a flood from one address', () => {
  it(
    'of random well-formed tokens: 429 after the per-address limit, no argon2, others unaffected',
    async () => {
      const { api, hasher, throttle } = await app({});
      const list = (token: string, address: string) =>
        api.post('/api-token/list', {}, { token, headers: from(address) });
      const before = hasher.stats;
      const statuses: number[] = [];
      for (let i = 0; i < 60; i++) {
        const res = await list(codec.generate().token, ATTACKER);
        statuses.push(res.status);
        if (res.status === 429) expect429(res);
      }
      expect(statuses.slice(0, 30).every((s) => s === 401)).toBe(true);
      expect(statuses.slice(30).every((s) => s === 429)).toBe(true);
      expect(hasher.stats.verifies - before.verifies).toBe(0);
      expect(throttle.stats.throttledByAddress).toBe(30);
      // Another address is not affected, nor is a valid token from the flooding address.
      expect((await list(codec.generate().token, HOLDER)).status).toBe(401);
      expect((await list(ADMIN_TOKEN, HOLDER)).status).toBe(200);
      expect((await list(ADMIN_TOKEN, ATTACKER)).status).toBe(200);
    },
    SLOW,
  );

  it(
    'of one wrong value: answered from the negative cache after the first miss',
    async () => {
      const { api, throttle } = await app({ KEYWARD_THROTTLE_ADDRESS: '1000' });
      const wrong = codec.generate().token;
      for (let i = 0; i < 5; i++) {
        expect((await api.post('/api-token/list', {}, { token: wrong, headers: from(ATTACKER) })).status).toBe(401);
      }
      expect(throttle.stats.negativeHits).toBe(4);
    },
    SLOW,
  );
});

/** Every operation of the committed OpenAPI document, and whether it names security schemes. */
const OPERATIONS = Object.entries(
  (
    JSON.parse(readFileSync(new URL('../../openapi/openapi.json', import.meta.url), 'utf8')) as {
      paths: Record<string, Record<string, { security?: unknown[]; requestBody?: unknown }>>;
    }
  ).paths,
).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ method: method.toUpperCase(), path, op })));

describe('the throttle gate', () => {
  it(
    'refuses a refused address on every route that checks a credential before the route reads anything',
    async () => {
      const { t, api, throttle } = await app({ KEYWARD_THROTTLE_ADDRESS: '3' });
      for (let i = 0; i < 3; i++)
        await api.post('/api-token/list', {}, { token: codec.generate().token, headers: from(ATTACKER) });
      expect429(await api.post('/api-token/list', {}, { token: codec.generate().token, headers: from(ATTACKER) }));
      const before = throttle.stats.throttledByAddress;
      const secured = OPERATIONS.filter((o) => (o.op.security ?? []).length > 0);
      expect(secured.length).toBeGreaterThan(30);
      for (const { method, path, op } of secured) {
        const url = path.replace(/\{[^}]+\}/g, '00000000-0000-4000-8000-000000000000');
        // A body the route could not even parse: without the gate, body parsing (400) comes first.
        const res = await api.call(method, url, {
          token: codec.generate().token,
          headers: from(ATTACKER),
          ...(op.requestBody ? { raw: '{"unterminated' } : {}),
        });
        // In the route's own error dialect (the contract check of the client holds the shape).
        expect(res.status, `${method} ${path}: ${res.text}`).toBe(429);
        expect(res.body.code ?? res.body.error?.code).toBe('rate_limited');
        expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      }
      // Forward auth also answers HEAD (no body): the status and Retry-After say it.
      const head = await api.call('HEAD', '/v1/auth/check', { token: codec.generate().token, headers: from(ATTACKER) });
      expect(head.status).toBe(429);
      expect(Number(head.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(throttle.stats.throttledByAddress - before).toBe(secured.length + 1);
      // Open routes answer whatever a refused address presents; no credential at all is a 401, not a 429.
      expect(
        (await api.get('/api/v1/public/ping', { token: codec.generate().token, headers: from(ATTACKER) })).status,
      ).toBe(200);
      expect((await api.get('/health/live', { token: codec.generate().token, headers: from(ATTACKER) })).status).toBe(
        200,
      );
      expect((await api.post('/api-token/list', {}, { token: null, headers: from(ATTACKER) })).status).toBe(401);
      // A credential that proved itself from elsewhere passes the gate from the refused address.
      expect((await api.post('/api-token/list', {}, { headers: from(HOLDER) })).status).toBe(200);
      expect((await api.post('/api-token/list', {}, { headers: from(ATTACKER) })).status).toBe(200);
      // A cached token passes it too, and its cache hit is counted once per request, not once per look.
      const made = await api.post('/api-token/create', { access: 'read' }, { headers: from(HOLDER) });
      expect((await api.post('/api-token/list', {}, { token: made.body.token, headers: from(HOLDER) })).status).toBe(
        200,
      );
      const hits = t.app.get(TokenCache).hits;
      for (let i = 0; i < 3; i++) {
        const res = await api.post('/api-token/list', {}, { token: made.body.token, headers: from(ATTACKER) });
        expect(res.status).toBe(200);
      }
      expect(t.app.get(TokenCache).hits - hits).toBe(3);
    },
    SLOW,
  );
});

describe('tokens-file entries stored as argon2 hashes', () => {
  it(
    'cost no argon2 for values that do not start with their stub',
    async () => {
      const secret = `kw_${'ab12cd'}${'9f'.repeat(29)}`;
      const file = join(dir, 'hashed.json');
      const hash = await new PasswordHasher((await import('../../src/config/config.schema.js')).loadConfig({})).hash(
        secret,
      );
      writeFileSync(
        file,
        JSON.stringify({ authorization: { enabled: true, token_hash: hash, token_stub: 'kw_ab12cd…' } }),
        {
          mode: 0o600,
        },
      );
      const { api, hasher } = await app({ KEYWARD_TOKENS_FILE: file, KEYWARD_THROTTLE_ADDRESS: '1000' });
      const list = (token: string) => api.post('/api-token/list', {}, { token, headers: from(ATTACKER) });
      const before = hasher.stats.verifies;
      for (const value of [
        'not-a-token',
        'kw_zzzzzz-anything',
        'lightd_0123456789abcdef',
        `kw_ab12c${'0'.repeat(40)}`,
      ]) {
        expect((await list(value)).status).toBe(401);
      }
      for (let i = 0; i < 40; i++) expect((await list(`random-${i}-${Math.random()}`)).status).toBe(401);
      expect(hasher.stats.verifies - before).toBe(0);
      // A value with the right start costs one check; the real secret works.
      expect((await list(`kw_ab12cd${'0'.repeat(58)}`)).status).toBe(401);
      expect(hasher.stats.verifies - before).toBe(1);
      expect((await list(secret)).status).toBe(200);
    },
    SLOW,
  );
});

describe('the argon2 queue', () => {
  it(
    'answers 503 with Retry-After when full, instead of growing latency; never 500',
    async () => {
      const { api, hasher } = await app({
        KEYWARD_THROTTLE_ADDRESS: '1000',
        KEYWARD_THROTTLE_TOKEN: '1000',
        KEYWARD_AUTH_CACHE_TTL: '0',
        KEYWARD_ARGON2_CONCURRENCY: '1',
        KEYWARD_ARGON2_QUEUE: '1',
        // Slow argon2 (~10x the default), so the 16 requests below surely overlap.
        KEYWARD_ARGON2_TIME_COST: '20',
      });
      const made = await api.post('/api-token/create', { access: 'read' });
      const { lookupId } = codec.parse(made.body.token)!;
      const results = await Promise.all(
        Array.from({ length: 16 }, () =>
          api.post('/api-token/list', {}, { token: codec.generate(lookupId).token, headers: from(ATTACKER) }),
        ),
      );
      const statuses = results.map((r) => r.status);
      expect(
        statuses.every((s) => s === 401 || s === 503),
        statuses.join(),
      ).toBe(true);
      const refused = results.filter((r) => r.status === 503);
      expect(refused.length).toBeGreaterThan(0);
      for (const r of refused) {
        expect(envelopeOf(r).code).toBe('service_unavailable');
        expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      }
      expect(hasher.stats.rejected).toBe(refused.length);
      // Refused checks are not failures: they do not count toward the throttle, and the token still works.
      expect((await api.post('/api-token/list', {}, { token: made.body.token })).status).toBe(200);
    },
    SLOW,
  );
});
