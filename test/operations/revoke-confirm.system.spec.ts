import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, TEST_DB_MODE, type TestDatabase } from '../support/db.js';
import { freePort, MAIN, type Proc, spawnService, waitForHttp } from '../support/process.js';
import { parsePrometheus } from '../support/prometheus.js';

/**
 * Three instances of the built service on one PostgreSQL database with KEYWARD_REVOKE_CONFIRM=all: once
 * a revoke, disable, PATCH or project delete has answered on A, neither B nor C accepts the token again,
 * though both had it cached; with C frozen (SIGSTOP) the answer comes after the timeout and says so; a
 * stopped instance is not waited for.
 */
const ADMIN = 'revoke-confirm-test-admin-token-0123456789';
const PAIRS = 100;
const HEADER = 'x-keyward-invalidation';

interface Instance {
  base: string;
  proc: Proc;
}

const admin = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };

async function check(base: string, token: string): Promise<number> {
  return (await fetch(`${base}/v1/auth/check`, { headers: { authorization: `Bearer ${token}` } })).status;
}

async function metric(base: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const families = parsePrometheus(await (await fetch(`${base}/metrics`, { headers: admin })).text());
  return (families.get(name)?.samples ?? [])
    .filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((n, s) => n + s.value, 0);
}
const cacheHits = (base: string) => metric(base, 'keyward_auth_cache_hits_total');

async function until(what: string, test: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await test())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(TEST_DB_MODE !== 'postgres')('KEYWARD_REVOKE_CONFIRM=all across three instances', () => {
  let db: TestDatabase;
  const instances: Instance[] = [];
  let a: Instance;
  let b: Instance;
  let c: Instance;

  async function start(): Promise<Instance> {
    const port = await freePort();
    const proc = spawnService({
      PORT: String(port),
      HOST: '127.0.0.1',
      KEYWARD_ADMIN_TOKEN: ADMIN,
      DATABASE_URL: db.url!,
      KEYWARD_AUTH_CACHE_TTL: '1h',
      KEYWARD_REVOKE_CONFIRM: 'all',
      KEYWARD_REVOKE_CONFIRM_TIMEOUT: '3s',
      KEYWARD_LAST_USED_FLUSH: '0',
      LOG_LEVEL: 'warn',
      // Every revoked token is checked six times from 127.0.0.1 right after its revoke: failures, on purpose.
      KEYWARD_THROTTLE_ADDRESS: '1000000',
      KEYWARD_THROTTLE_TOKEN: '1000000',
    });
    const base = `http://127.0.0.1:${port}`;
    await waitForHttp(`${base}/api/v1/public/ping`, proc);
    return { base, proc };
  }

  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error('dist/main.js is missing: run `npm run build` first');
    db = await createTestDatabase();
    a = await start(); // applies the migrations
    [b, c] = await Promise.all([start(), start()]);
    instances.push(a, b, c);
    // Every listener connected and caught up (readiness checks it).
    for (const i of instances) await until('readiness', async () => (await fetch(`${i.base}/health/ready`)).ok);
    // …and each hears the other two (presence through the listener heartbeats).
    for (const i of instances) {
      await until('presence', async () => (await metric(i.base, 'keyward_listener_instances')) === 3);
    }
  }, 90_000);

  afterAll(async () => {
    for (const i of instances) i.proc.child.kill('SIGCONT');
    await Promise.all(instances.map((i) => i.proc.stop()));
    await db?.drop();
  });

  async function create(): Promise<{ id: string; token: string }> {
    const res = await fetch(`${a.base}/api-token/create`, {
      method: 'POST',
      headers: admin,
      body: '{"access":"read"}',
    });
    expect(res.status).toBe(200);
    return (await res.json()) as { id: string; token: string };
  }

  /** Checks the token on B and C twice each (the second check is served from their caches). */
  async function cacheOnBAndC(token: string): Promise<void> {
    for (const i of [b, c]) for (let n = 0; n < 2; n++) expect(await check(i.base, token)).toBe(200);
  }

  /** Right after the answer: three checks on each of B and C at once; how many were accepted. */
  async function acceptsAfter(token: string): Promise<number> {
    const statuses = await Promise.all([b, c, b, c, b, c].map((i) => check(i.base, token)));
    expect(statuses.every((s) => s === 200 || s === 401)).toBe(true);
    return statuses.filter((s) => s === 200).length;
  }

  it(`revoke or disable on A, then B and C: 0 accepts in ${PAIRS} pairs, each confirmed by 3 of 3`, async () => {
    const hitsBefore = (await cacheHits(b.base)) + (await cacheHits(c.base));
    let accepts = 0;
    const outcomes = new Map<string, number>();
    for (let n = 0; n < PAIRS; n++) {
      const t = await create();
      await cacheOnBAndC(t.token);
      const route = n % 2 ? 'disable' : 'revoke';
      const res = await fetch(`${a.base}/api-token/${route}`, {
        method: 'POST',
        headers: admin,
        body: JSON.stringify({ id: t.id }),
      });
      expect(res.status).toBe(200);
      const outcome = res.headers.get(HEADER) ?? '(none)';
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      accepts += await acceptsAfter(t.token);
    }
    expect(Object.fromEntries(outcomes)).toEqual({ 'confirmed; 3 of 3 instances': PAIRS });
    expect(await metric(a.base, 'keyward_invalidation_confirmations_total', { outcome: 'confirmed' })).toBe(PAIRS);
    expect(accepts).toBe(0);
    // B and C really served these tokens from their caches before each change.
    expect((await cacheHits(b.base)) + (await cacheHits(c.base)) - hitsBefore).toBeGreaterThanOrEqual(2 * PAIRS);
  }, 180_000);

  it('PATCH (disable) of a project token and the delete of its project: 0 accepts on B and C', async () => {
    let accepts = 0;
    for (let n = 0; n < 10; n++) {
      const project = await fetch(`${a.base}/v1/projects`, {
        method: 'POST',
        headers: admin,
        body: JSON.stringify({ name: `confirm-${n}` }),
      });
      expect(project.status).toBe(201);
      const { id: projectId } = (await project.json()) as { id: string };
      const made = await fetch(`${a.base}/v1/projects/${projectId}/tokens`, {
        method: 'POST',
        headers: admin,
        body: JSON.stringify({ name: 'ci', permissions: [] }),
      });
      expect(made.status).toBe(201);
      const t = (await made.json()) as { id: string; token: string };
      await cacheOnBAndC(t.token);
      const res =
        n % 2
          ? await fetch(`${a.base}/v1/project_tokens/${t.id}`, {
              method: 'PATCH',
              headers: admin,
              body: JSON.stringify({ enabled: false }),
            })
          : await fetch(`${a.base}/v1/projects/${projectId}`, { method: 'DELETE', headers: admin });
      expect([200, 204]).toContain(res.status);
      expect(res.headers.get(HEADER)).toBe('confirmed; 3 of 3 instances');
      accepts += await acceptsAfter(t.token);
    }
    expect(accepts).toBe(0);
  }, 120_000);

  it('with C frozen (SIGSTOP) the answer comes after the timeout and says 2 of 3; B still refuses at once', async () => {
    const t = await create();
    await cacheOnBAndC(t.token);
    c.proc.child.kill('SIGSTOP');
    try {
      const res = await fetch(`${a.base}/api-token/revoke`, {
        method: 'POST',
        headers: admin,
        body: JSON.stringify({ id: t.id }),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get(HEADER)).toBe('timeout; 2 of 3 instances');
      const onB = await Promise.all([1, 2, 3].map(() => check(b.base, t.token)));
      expect(onB).toEqual([401, 401, 401]);
    } finally {
      c.proc.child.kill('SIGCONT');
    }
    expect(await metric(a.base, 'keyward_invalidation_confirmations_total', { outcome: 'timeout' })).toBe(1);
    // Thawed, C catches up (its cache is not trusted until its own heartbeat came back through the backlog).
    await until('C to refuse the revoked token', async () => (await check(c.base, t.token)) === 401);
    await until('C to acknowledge again', async () => {
      const u = await create();
      const res = await fetch(`${a.base}/api-token/revoke`, {
        method: 'POST',
        headers: admin,
        body: JSON.stringify({ id: u.id }),
      });
      return res.headers.get(HEADER) === 'confirmed; 3 of 3 instances';
    });
  }, 120_000);

  it('an instance that stopped is not waited for', async () => {
    await c.proc.stop();
    const t = await create();
    await check(b.base, t.token);
    const res = await fetch(`${a.base}/api-token/revoke`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ id: t.id }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get(HEADER)).toBe('confirmed; 2 of 2 instances');
    expect(await check(b.base, t.token)).toBe(401);
  }, 60_000);
});
