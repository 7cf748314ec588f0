import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgCluster } from '../support/pg-cluster.js';
import { freePort, MAIN, type Proc, spawnService, waitForHttp } from '../support/process.js';
import { parsePrometheus } from '../support/prometheus.js';

/**
 * Two instances reading cache misses from a streaming replica (pg_basebackup on a private cluster)
 * whose replay is held back (recovery_min_apply_delay): a revoked token is never accepted again after
 * the revoke's answer, although the replica still shows it live.
 */
const ADMIN = 'replica-test-admin-token-0123456789';
const DELAY_MS = 3000;

async function counter(base: string, name: string, labels: Record<string, string>): Promise<number> {
  const families = parsePrometheus(
    await (await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${ADMIN}` } })).text(),
  );
  return (families.get(name)?.samples ?? [])
    .filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((n, s) => n + s.value, 0);
}

async function until(what: string, check: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('read replicas', () => {
  let primary: PgCluster;
  let replica: PgCluster;
  const procs: Proc[] = [];

  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error('dist/main.js is missing: run `npm run build` first');
    primary = await PgCluster.create();
    await primary.sql('CREATE DATABASE keyward');
    replica = await PgCluster.replicaOf(primary, { recovery_min_apply_delay: `${DELAY_MS}ms` });
  }, 60_000);

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await replica?.destroy();
    await primary?.destroy();
  });

  async function start(env: Record<string, string>): Promise<string> {
    const port = await freePort();
    const proc = spawnService({ PORT: String(port), HOST: '127.0.0.1', KEYWARD_ADMIN_TOKEN: ADMIN, ...env });
    procs.push(proc);
    const base = `http://127.0.0.1:${port}`;
    await waitForHttp(`${base}/api/v1/public/ping`, proc);
    return base;
  }

  it('refuses a replica URL that is not a replica', async () => {
    const proc = spawnService({
      PORT: String(await freePort()),
      DATABASE_URL: primary.url('keyward'),
      DATABASE_REPLICA_URLS: primary.url('keyward'),
    });
    expect(await proc.exited).toBe(1);
    expect(proc.stderr().trim()).toMatch(/^keyward: DATABASE_REPLICA_URLS\[0\]: .* is not a streaming replica/);
  });

  it('serves misses from the replica, and never accepts a revoked token the lagging replica still shows live', async () => {
    const env = {
      DATABASE_URL: primary.url('keyward'),
      DATABASE_REPLICA_URLS: replica.url('keyward'),
      // Short-lived cache entries: most checks are misses, read from the replica when it may be.
      KEYWARD_AUTH_CACHE_TTL: '100ms',
      KEYWARD_LISTENER_HEARTBEAT: '200ms',
    };
    const a = await start(env);
    const b = await start(env);
    const admin = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
    const tokens: { id: string; token: string }[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${a}/api-token/create`, { method: 'POST', headers: admin, body: '{"access":"read"}' });
      expect(res.status).toBe(200);
      tokens.push((await res.json()) as { id: string; token: string });
    }
    const check = async (base: string, token: string) =>
      (await fetch(`${base}/v1/auth/check`, { headers: { authorization: `Bearer ${token}` } })).status;

    // Not on the replica yet: answered from the primary.
    expect(await check(b, tokens[1].token)).toBe(200);
    await until('the replica to replay the new tokens', async () => {
      // Until the delayed replay reaches the migrations, the table itself is missing there.
      const rows = await replica
        .sql('SELECT 1 FROM api_tokens WHERE id = $1', [tokens[3].id], 'keyward')
        .catch(() => []);
      return rows.length === 1;
    });
    for (let round = 0; round < 5; round++) {
      for (const base of [a, b]) for (const t of tokens) expect(await check(base, t.token)).toBe(200);
      await new Promise((r) => setTimeout(r, 120));
    }
    const fromReplica =
      (await counter(a, 'keyward_replica_reads_total', { served_by: 'replica' })) +
      (await counter(b, 'keyward_replica_reads_total', { served_by: 'replica' }));
    expect(fromReplica).toBeGreaterThan(0);

    const victim = tokens[0];
    const revoked = await fetch(`${a}/api-token/revoke`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ id: victim.id }),
    });
    expect(revoked.status).toBe(200);
    const answeredAt = Date.now();
    // The replica still shows the token live...
    const [onReplica] = await replica.sql<{ revoked: boolean }>(
      'SELECT revoked_at IS NOT NULL AS revoked FROM api_tokens WHERE id = $1',
      [victim.id],
      'keyward',
    );
    expect(onReplica.revoked).toBe(false);
    // ...and no instance accepts it, from the revoke's answer until well after the replica replayed it.
    const accepted: number[] = [];
    let checks = 0;
    while (Date.now() - answeredAt < DELAY_MS + 1500) {
      const statuses = await Promise.all([check(a, victim.token), check(b, victim.token)]);
      checks += 2;
      for (const s of statuses) if (s === 200) accepted.push(Date.now() - answeredAt);
      // The other tokens keep working meanwhile.
      expect(await check(b, tokens[2].token)).toBe(200);
    }
    expect(checks).toBeGreaterThan(10);
    expect(accepted).toEqual([]);
    const [replayed] = await replica.sql<{ revoked: boolean }>(
      'SELECT revoked_at IS NOT NULL AS revoked FROM api_tokens WHERE id = $1',
      [victim.id],
      'keyward',
    );
    expect(replayed.revoked).toBe(true);
    // Lists read from the replica too.
    const list = await fetch(`${b}/api-token/list`, { method: 'POST', headers: admin, body: '{}' });
    expect(list.status).toBe(200);
  }, 90_000);
});
