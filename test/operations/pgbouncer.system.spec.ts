import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgCluster } from '../support/pg-cluster.js';
import { PGBOUNCER, PgBouncer } from '../support/pgbouncer.js';
import { freePort, MAIN, type Proc, spawnService, waitForHttp } from '../support/process.js';
import { parsePrometheus } from '../support/prometheus.js';

/**
 * Three instances of the built service behind a real PgBouncer in transaction mode (Debian's, 1.18: no
 * protocol-level prepared statements, refuses the statement_timeout startup parameter), with a direct
 * connection for LISTEN/NOTIFY and the cleanup lock, on a private PostgreSQL cluster.
 */
const ADMIN = 'pgbouncer-test-admin-token-0123456789';

interface Instance {
  base: string;
  proc: Proc;
}

async function counter(base: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const families = parsePrometheus(
    await (await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${ADMIN}` } })).text(),
  );
  return (families.get(name)?.samples ?? [])
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((n, s) => n + s.value, 0);
}

async function until(what: string, check: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(!PGBOUNCER)('three instances behind PgBouncer (transaction mode)', () => {
  let cluster: PgCluster;
  let bouncer: PgBouncer;
  const instances: Instance[] = [];

  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error('dist/main.js is missing: run `npm run build` first');
    cluster = await PgCluster.create();
    await cluster.sql('CREATE DATABASE keyward');
    bouncer = await PgBouncer.start({ port: cluster.port, database: 'keyward' });
  }, 60_000);

  afterAll(async () => {
    await Promise.all(instances.map((i) => i.proc.stop()));
    bouncer?.stop();
    await cluster?.destroy();
  });

  async function start(env: Record<string, string>): Promise<Instance> {
    const port = await freePort();
    const proc = spawnService({ PORT: String(port), HOST: '127.0.0.1', KEYWARD_ADMIN_TOKEN: ADMIN, ...env });
    const base = `http://127.0.0.1:${port}`;
    await waitForHttp(`${base}/api/v1/public/ping`, proc);
    return { base, proc };
  }

  it('refuses, in one line, a pooler URL without a direct one', async () => {
    const proc = spawnService({ PORT: String(await freePort()), DATABASE_URL: bouncer.url('keyward') });
    expect(await proc.exited).toBe(1);
    const lines = proc.stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/DATABASE_URL: goes through a connection pooler.*set DATABASE_DIRECT_URL/);
  });

  it('refuses a DATABASE_DIRECT_URL that is a pooler too', async () => {
    const url = bouncer.url('keyward');
    const proc = spawnService({ PORT: String(await freePort()), DATABASE_URL: url, DATABASE_DIRECT_URL: url });
    expect(await proc.exited).toBe(1);
    expect(proc.stderr().trim()).toMatch(/^keyward: DATABASE_DIRECT_URL: goes through a connection pooler too/);
  });

  it('serves from cache, answers no 500, runs cleanup once per interval under one lock, and revokes everywhere', async () => {
    const env = {
      DATABASE_URL: bouncer.url('keyward'),
      DATABASE_DIRECT_URL: cluster.url('keyward'),
      KEYWARD_CLEANUP_INTERVAL: '1s',
      KEYWARD_LISTENER_HEARTBEAT: '200ms',
      // Barrier and acknowledgements go through the pooler (pg_notify), the listener is the direct URL.
      KEYWARD_REVOKE_CONFIRM: 'all',
    };
    instances.push(await start(env)); // applies the migrations
    instances.push(...(await Promise.all([start(env), start(env)])));
    for (const i of instances) expect(i.proc.output()).toMatch(/through a connection pooler/);

    const admin = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
    const statuses = new Map<number, number>();
    const count = (s: number) => statuses.set(s, (statuses.get(s) ?? 0) + 1);

    // Writes through the pooler from every instance; each token then checked on every instance, many
    // times (the first check of each is a miss: the lookup statement runs through the pooler).
    const tokens: { id: string; token: string }[] = [];
    for (let n = 0; n < 24; n++) {
      const res = await fetch(`${instances[n % 3].base}/api-token/create`, {
        method: 'POST',
        headers: admin,
        body: JSON.stringify({ access: 'read' }),
      });
      count(res.status);
      tokens.push((await res.json()) as { id: string; token: string });
    }
    const checks: Promise<void>[] = [];
    for (let round = 0; round < 6; round++) {
      for (const t of tokens) {
        for (const i of instances) {
          checks.push(
            fetch(`${i.base}/v1/auth/check`, { headers: { authorization: `Bearer ${t.token}` } }).then(
              (r) => void count(r.status),
            ),
          );
        }
      }
      await Promise.all(checks.splice(0));
    }
    // Lists and a single-use token's consumption go through the pooler as well.
    for (const i of instances) {
      const res = await fetch(`${i.base}/api-token/list`, { method: 'POST', headers: admin, body: '{}' });
      count(res.status);
    }
    expect(statuses.get(500) ?? 0).toBe(0);
    expect([...statuses.keys()].sort()).toEqual([200]);
    for (const i of instances) expect(await counter(i.base, 'keyward_auth_cache_hits_total')).toBeGreaterThan(0);

    // Revocation on one instance is seen by the two others (LISTEN on the direct connection), and with
    // KEYWARD_REVOKE_CONFIRM=all before the answer: every instance refuses the token at once.
    const victim = tokens[0];
    const revoked = await fetch(`${instances[0].base}/api-token/revoke`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ id: victim.id }),
    });
    expect(revoked.status).toBe(200);
    // Normally 3 of 3; an instance stalled past its presence window (4 × 200 ms) is not counted, and has
    // stopped serving from its cache by then.
    expect(revoked.headers.get('x-keyward-invalidation')).toMatch(/^confirmed; (\d) of \1 instances$/);
    for (const i of instances) {
      const r = await fetch(`${i.base}/v1/auth/check`, { headers: { authorization: `Bearer ${victim.token}` } });
      expect(r.status).toBe(401);
    }

    // Cleanup: an expired token is removed; passes never fail; the cluster runs about one per interval
    // (claimed in cluster_jobs under the advisory lock on the direct connection), not one per instance.
    const soon = new Date(Date.now() + 1500).toISOString();
    const short = (await (
      await fetch(`${instances[1].base}/api-token/create`, {
        method: 'POST',
        headers: admin,
        body: JSON.stringify({ access: 'read', expires_at: soon }),
      })
    ).json()) as { id: string };
    const ranBefore = (
      await Promise.all(instances.map((i) => counter(i.base, 'keyward_cleanup_runs_total', { outcome: 'ran' })))
    ).reduce((a, b) => a + b, 0);
    const since = Date.now();
    await until(
      'the expired token to be cleaned up',
      async () => (await cluster.sql('SELECT 1 FROM api_tokens WHERE id = $1', [short.id], 'keyward')).length === 0,
      20_000,
    );
    await new Promise((r) => setTimeout(r, 3000));
    const seconds = (Date.now() - since) / 1000;
    const outcomes = async (outcome: string) =>
      (await Promise.all(instances.map((i) => counter(i.base, 'keyward_cleanup_runs_total', { outcome })))).reduce(
        (a, b) => a + b,
        0,
      );
    const ran = (await outcomes('ran')) - ranBefore;
    expect(await outcomes('failed')).toBe(0);
    expect(ran).toBeGreaterThanOrEqual(2);
    // Three instances each ticking every second would make ~3 passes a second without the claim.
    expect(ran).toBeLessThanOrEqual(Math.ceil(seconds / 0.9) + 1);
    expect(await outcomes('skipped_recent')).toBeGreaterThan(0);
    // The lock is released after each pass (no idle pooled connection keeps it).
    await until(
      'no advisory lock held between passes',
      async () => (await cluster.sql("SELECT 1 FROM pg_locks WHERE locktype = 'advisory'", [], 'keyward')).length === 0,
    );

    // The shared rate limits go through the pooler too: a token limited to 6 passes a window gets
    // exactly 6 across the three instances (each pass one write: limits up to 100 are not leased).
    const limited = (await (
      await fetch(`${instances[0].base}/api-token/create`, {
        method: 'POST',
        headers: admin,
        body: JSON.stringify({ access: 'read', ratelimit: { limit: 6, duration: 3_600_000 } }),
      })
    ).json()) as { token: string };
    const passes = await Promise.all(
      Array.from({ length: 18 }, (_, n) =>
        fetch(`${instances[n % 3].base}/v1/auth/check`, { headers: { authorization: `Bearer ${limited.token}` } }).then(
          (r) => r.status,
        ),
      ),
    );
    expect(passes.filter((s) => s === 200)).toHaveLength(6);
    expect(passes.filter((s) => s === 429)).toHaveLength(12);

    for (const i of instances) {
      expect(i.proc.output()).not.toMatch(/listener lost|prepared statement|unsupported startup parameter/);
    }
  }, 90_000);
});
