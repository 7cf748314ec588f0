import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatabaseService } from '../../src/database/database.service.js';
import { TokenCache } from '../../src/verification/token-cache.service.js';
import { UsageTracker } from '../../src/verification/usage-tracker.service.js';
import { client, type Client, startApp, startSibling, type TestApp } from '../support/app.js';
import { createTestDatabase, TEST_DB_MODE, type TestDatabase } from '../support/db.js';

/**
 * The verification cache never outlives a revocation: immediately in the instance that revoked, and
 * within one second in every other instance sharing the database (LISTEN/NOTIFY).
 */
let db: TestDatabase;
let a: TestApp;
let apiA: Client;

beforeAll(async () => {
  db = await createTestDatabase();
  a = await startApp({ KEYWARD_AUTH_CACHE_TTL: '1h', KEYWARD_LAST_USED_FLUSH: '0' }, db);
  apiA = client(a.url);
});
afterAll(async () => {
  await a?.close();
  await db?.drop();
});

async function until(check: () => Promise<boolean>, ms: number): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < ms) {
    if (await check()) return Date.now() - start;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`condition not met within ${ms} ms`);
}

describe('one instance', () => {
  it('serves a used token from the cache (keyed by HMAC, never by the token)', async () => {
    const tok = (await apiA.post('/api-token/create', { access: 'read' })).body.token as string;
    const cache = a.app.get(TokenCache);
    const before = cache.size;
    expect((await apiA.post('/api-token/list', {}, { token: tok })).status).toBe(200);
    expect(cache.size).toBe(before + 1);
    const key = cache.keyOf(tok);
    expect(key).not.toContain(tok.slice(3, 20));
    expect(cache.get(key)).toBeDefined();
  });

  it('revoke → the very next request is 401', async () => {
    const made = (await apiA.post('/api-token/create', { access: 'write' })).body;
    expect((await apiA.post('/api-token/list', {}, { token: made.token })).status).toBe(200);
    expect((await apiA.post('/api-token/revoke', { id: made.id })).status).toBe(200);
    expect((await apiA.post('/api-token/list', {}, { token: made.token })).status).toBe(401);
  });

  it('a token revoked by plain SQL (another process) is dropped through the trigger notification', async () => {
    const made = (await apiA.post('/api-token/create', { access: 'read' })).body;
    expect((await apiA.post('/api-token/list', {}, { token: made.token })).status).toBe(200);
    await a.app.get(DatabaseService).sql.query('UPDATE api_tokens SET revoked_at = now() WHERE id = $1', [made.id]);
    await until(async () => (await apiA.post('/api-token/list', {}, { token: made.token })).status === 401, 1000);
  });

  it('a token disabled by plain SQL (another process) is dropped too, and enabled again it works', async () => {
    const made = (await apiA.post('/api-token/create', { access: 'read' })).body;
    expect((await apiA.post('/api-token/list', {}, { token: made.token })).status).toBe(200);
    const sql = a.app.get(DatabaseService).sql;
    await sql.query('UPDATE api_tokens SET enabled = false WHERE id = $1', [made.id]);
    await until(async () => (await apiA.post('/api-token/list', {}, { token: made.token })).status === 401, 1000);
    await sql.query('UPDATE api_tokens SET enabled = true WHERE id = $1', [made.id]);
    expect((await apiA.post('/api-token/list', {}, { token: made.token })).status).toBe(200);
  });

  it('single-use tokens are never cached', async () => {
    const once = (await apiA.post('/auth/tokens', { ttl: '1h', remove_on_use: true })).body.token as string;
    expect((await apiA.post('/api-token/list', {}, { token: once })).status).toBe(200);
    expect(a.app.get(TokenCache).get(a.app.get(TokenCache).keyOf(once))).toBeUndefined();
    expect((await apiA.post('/api-token/list', {}, { token: once })).status).toBe(401);
  });

  it('a cached entry never outlives the token expiry', async () => {
    const tok = (await apiA.post('/auth/tokens', { ttl: '1s' })).body.token as string;
    expect((await apiA.post('/api-token/list', {}, { token: tok })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1100));
    const res = await apiA.post('/api-token/list', {}, { token: tok });
    expect(res.status).toBe(401);
    expect(res.body.error.message).toBe('Token expired');
  });

  it('records last_used_at in coalesced batches, not per request', async () => {
    const made = (await apiA.post('/api-token/create', { access: 'read' })).body;
    for (let i = 0; i < 5; i++) await apiA.post('/api-token/list', {}, { token: made.token });
    const prisma = a.app.get(DatabaseService).prisma;
    expect((await prisma.apiToken.findUnique({ where: { id: made.id } }))!.lastUsedAt).toBeNull();
    expect(await a.app.get(UsageTracker).flush()).toBeGreaterThanOrEqual(1);
    expect((await prisma.apiToken.findUnique({ where: { id: made.id } }))!.lastUsedAt).not.toBeNull();
  });
});

describe.skipIf(TEST_DB_MODE !== 'postgres')('two instances on one PostgreSQL database', () => {
  let b: TestApp;
  let apiB: Client;
  beforeAll(async () => {
    b = await startApp({ KEYWARD_AUTH_CACHE_TTL: '1h' }, db);
    apiB = client(b.url);
  });
  afterAll(async () => b?.close());

  it('revoke on A → 401 on B within one second, though B had it cached', async () => {
    const made = (await apiA.post('/api-token/create', { access: 'write' })).body;
    expect((await apiB.post('/api-token/list', {}, { token: made.token })).status).toBe(200);
    expect(b.app.get(TokenCache).get(b.app.get(TokenCache).keyOf(made.token))).toBeDefined();
    expect((await apiA.post('/api-token/revoke', { id: made.id })).status).toBe(200);
    expect((await apiA.post('/api-token/list', {}, { token: made.token })).status).toBe(401);
    const took = await until(
      async () => (await apiB.post('/api-token/list', {}, { token: made.token })).status === 401,
      1000,
    );
    expect(took).toBeLessThan(1000);
  });
});

describe('KEYWARD_REVOKE_CONFIRM=all', () => {
  let c: TestApp;
  let apiC: Client;
  beforeAll(async () => {
    // On PostgreSQL next to A (which acknowledges too); on PGlite one instance on a database of its own.
    c = await startSibling(a, { KEYWARD_AUTH_CACHE_TTL: '1h', KEYWARD_REVOKE_CONFIRM: 'all' });
    apiC = client(c.url);
  });
  afterAll(async () => c?.close());

  it('a revoke answers once every live instance acknowledged, and says so', async () => {
    const made = (await apiC.post('/api-token/create', { access: 'read' })).body;
    if (TEST_DB_MODE === 'postgres') {
      expect((await apiA.post('/api-token/list', {}, { token: made.token })).status).toBe(200);
    }
    const res = await apiC.post('/api-token/revoke', { id: made.id });
    expect(res.status).toBe(200);
    // PGlite: one process, one instance. PostgreSQL: C and A (and whoever else shares this database).
    const header = res.headers.get('x-keyward-invalidation')!;
    expect(header).toMatch(/^confirmed; (\d+) of \1 instances$/);
    if (TEST_DB_MODE === 'pglite') expect(header).toBe('confirmed; 1 of 1 instances');
    else expect(Number(/of (\d+)/.exec(header)![1])).toBeGreaterThanOrEqual(2);
    // No waiting: A had the token cached and has dropped it before C answered.
    if (TEST_DB_MODE === 'postgres') {
      expect((await apiA.post('/api-token/list', {}, { token: made.token })).status).toBe(401);
    }
    expect((await apiC.post('/api-token/list', {}, { token: made.token })).status).toBe(401);
  });

  it('disable, PATCH, project rename and delete carry the outcome too; enable and create do not', async () => {
    const made = (await apiC.post('/api-token/create', { access: 'read' })).body;
    expect((await apiC.post('/api-token/create', { access: 'read' })).headers.get('x-keyward-invalidation')).toBeNull();
    const disabled = await apiC.post('/api-token/disable', { id: made.id });
    expect(disabled.status).toBe(200);
    expect(disabled.headers.get('x-keyward-invalidation')).toMatch(/^confirmed; /);
    const enabled = await apiC.post('/api-token/enable', { id: made.id });
    expect(enabled.status).toBe(200);
    expect(enabled.headers.get('x-keyward-invalidation')).toBeNull();

    const project = (await apiC.post('/v1/projects', { name: `confirm-${Date.now()}` })).body;
    const token = (await apiC.post(`/v1/projects/${project.id}/tokens`, { name: 'ci', permissions: [] })).body;
    const patched = await apiC.patch(`/v1/project_tokens/${token.id}`, { enabled: false });
    expect(patched.status).toBe(204);
    expect(patched.headers.get('x-keyward-invalidation')).toMatch(/^confirmed; /);
    const renamed = await apiC.patch(`/v1/projects/${project.id}`, { name: `renamed-${Date.now()}` });
    expect(renamed.status).toBe(204);
    expect(renamed.headers.get('x-keyward-invalidation')).toMatch(/^confirmed; /);
    const deleted = await apiC.delete(`/v1/projects/${project.id}`);
    expect(deleted.status).toBe(200);
    expect(deleted.headers.get('x-keyward-invalidation')).toMatch(/^confirmed; /);
  });

  it('a refused change (404) answers at once, without the header', async () => {
    const res = await apiC.post('/api-token/revoke', { id: '00000000-0000-4000-8000-000000000000' });
    expect(res.status).toBe(404);
    expect(res.headers.get('x-keyward-invalidation')).toBeNull();
  });

  it('is off by default: no header, no wait', async () => {
    const made = (await apiA.post('/api-token/create', { access: 'read' })).body;
    const res = await apiA.post('/api-token/revoke', { id: made.id });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-keyward-invalidation')).toBeNull();
  });
});
