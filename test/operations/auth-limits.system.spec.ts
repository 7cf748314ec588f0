import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenCodec } from '../../src/verification/token-codec.js';
import { createTestDatabase, TEST_DB_MODE, type TestDatabase } from '../support/db.js';
import { freePort, MAIN, type Proc, spawnService, waitForHttp } from '../support/process.js';

/**
 * The failed-authentication limits hold for the cluster, not per instance: three instances of the built
 * service on one PostgreSQL database, an attacker spreading wrong secrets over the three (one request
 * after another, round robin), gets at most the limit N plus (instances - 1) = N + 2 failures (401) before
 * every instance answers 429; without the shared counters it would get 3N. Successful logins write
 * nothing to the shared counters. On the embedded database (one process) the limit is exact: N.
 *
 * Client addresses come from X-Forwarded-For (KEYWARD_TRUST_PROXY): documentation addresses in a header,
 * every request goes to 127.0.0.1.
 */
const ADMIN = 'auth-limits-test-admin-token-0123456789';
const ATTACKER = '203.0.113.7';
const ADDRESS_LIMIT = 20;
const TOKEN_LIMIT = 8;
const INSTANCES = 3;
/** The documented error bound of the cluster-wide limit, for an attacker who waits for each answer. */
const ERROR_BOUND = INSTANCES - 1;
const codec = new TokenCodec('kw_');

const ENV = {
  KEYWARD_ADMIN_TOKEN: ADMIN,
  KEYWARD_TRUST_PROXY: 'true',
  KEYWARD_THROTTLE_ADDRESS: String(ADDRESS_LIMIT),
  KEYWARD_THROTTLE_TOKEN: String(TOKEN_LIMIT),
  KEYWARD_THROTTLE_WINDOW: '10m',
};

interface Instance {
  base: string;
  proc: Proc;
}

async function start(env: Record<string, string>): Promise<Instance> {
  const port = await freePort();
  const proc = spawnService({ PORT: String(port), HOST: '127.0.0.1', ...ENV, ...env });
  const base = `http://127.0.0.1:${port}`;
  await waitForHttp(`${base}/api/v1/public/ping`, proc, 150_000); // a fresh PGlite directory is slow on a busy machine
  return { base, proc };
}

/** An authenticated call of the API (the guard's path) with `token`, from `address`. */
async function list(instance: Instance, token: string, address: string): Promise<number> {
  const res = await fetch(`${instance.base}/api-token/list`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'x-forwarded-for': address },
    body: '{}',
  });
  await res.arrayBuffer();
  if (res.status === 429) expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  return res.status;
}

/** `attempts` requests one after another, round robin over `instances`; the statuses in order. */
async function spread(
  instances: Instance[],
  attempts: number,
  attempt: (i: number) => { token: string; address: string },
): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < attempts; i++) {
    const { token, address } = attempt(i);
    statuses.push(await list(instances[i % instances.length], token, address));
  }
  return statuses;
}

const failures = (statuses: number[]) => statuses.filter((s) => s === 401).length;

let db: TestDatabase;
const instances: Instance[] = [];
const dirs: string[] = [];

beforeAll(async () => {
  if (!existsSync(MAIN)) throw new Error('dist/main.js is missing: run `npm run build` first');
  db = await createTestDatabase();
});
afterAll(async () => {
  await Promise.all(instances.map((i) => i.proc.stop()));
  await db?.drop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function sql<T>(text: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    return (await c.query(text, params)).rows as T[];
  } finally {
    await c.end();
  }
}

describe('failed-login limits across instances', () => {
  it.skipIf(TEST_DB_MODE === 'pglite')(
    `an attacker spread over ${INSTANCES} instances gets at most limit + ${ERROR_BOUND} failures, then 429 everywhere`,
    async () => {
      instances.push(await start(db.env)); // applies the migrations
      instances.push(...(await Promise.all([start(db.env), start(db.env)])));
      const shared = async () =>
        (
          await sql<{ rows: number; points: number }>(
            `SELECT count(*)::int AS rows, coalesce(sum(points), 0)::int AS points FROM ratelimits WHERE key LIKE 'authfail%'`,
          )
        )[0];

      // Successful logins, uncached (a first use on each instance, from fresh addresses): no shared write.
      const made = await fetch(`${instances[0].base}/api-token/create`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ access: 'read' }),
      });
      expect(made.ok, String(made.status)).toBe(true);
      const real = ((await made.json()) as { token: string }).token;
      for (const [n, i] of instances.entries()) {
        expect(await list(i, real, `198.51.100.${n + 10}`)).toBe(200);
        expect(await list(i, ADMIN, `198.51.100.${n + 20}`)).toBe(200);
      }
      expect(await shared()).toEqual({ rows: 0, points: 0 });

      // Per client address: random well-formed tokens (no argon2), from one address, over 3 instances.
      const byAddress = await spread(instances, ADDRESS_LIMIT * INSTANCES, () => ({
        token: codec.generate().token,
        address: ATTACKER,
      }));
      expect(byAddress.every((s) => s === 401 || s === 429)).toBe(true);
      expect(failures(byAddress)).toBeGreaterThanOrEqual(ADDRESS_LIMIT);
      expect(failures(byAddress)).toBeLessThanOrEqual(ADDRESS_LIMIT + ERROR_BOUND);
      // Once every instance has seen the block, nothing more gets through on any of them.
      expect(byAddress.slice(-2 * INSTANCES).every((s) => s === 429)).toBe(true);
      // Another address is not affected, nor is a valid token from the flooding address.
      expect(await list(instances[1], codec.generate().token, '198.51.100.99')).toBe(401);
      for (const i of instances) expect(await list(i, ADMIN, ATTACKER)).toBe(200);

      // Per token: wrong secrets for one lookup id, each from its own address (the address limit never
      // binds), over 3 instances.
      const { lookupId } = codec.parse(real)!;
      const byToken = await spread(instances, TOKEN_LIMIT * INSTANCES, (i) => ({
        token: codec.generate(lookupId).token,
        address: `203.0.113.${100 + i}`,
      }));
      expect(byToken.every((s) => s === 401 || s === 429)).toBe(true);
      expect(failures(byToken)).toBeGreaterThanOrEqual(TOKEN_LIMIT);
      expect(failures(byToken)).toBeLessThanOrEqual(TOKEN_LIMIT + ERROR_BOUND);
      expect(byToken.slice(-2 * INSTANCES).every((s) => s === 429)).toBe(true);
      // The real holder (cached on each instance) keeps working.
      for (const [n, i] of instances.entries()) expect(await list(i, real, `198.51.100.${n + 10}`)).toBe(200);

      // Every failure is one shared point: the attacker's address row holds exactly the 401s it got.
      const [row] = await sql<{ points: number }>(`SELECT points FROM ratelimits WHERE key = $1`, [
        `authfail_address:${ATTACKER}`,
      ]);
      expect(row.points).toBe(failures(byAddress));
      for (const i of instances) expect(i.proc.output()).not.toMatch(/counting a failed authentication/);
    },
    120_000,
  );

  it('on the embedded database (one instance) the limit is exact', async () => {
    // Embedded PGlite in a directory of its own, whatever database the other test uses.
    const dataDir = mkdtempSync(join(tmpdir(), 'keyward-auth-limits-'));
    dirs.push(dataDir);
    const one = await start({ KEYWARD_DATA_DIR: join(dataDir, 'data') });
    instances.push(one);
    expect(await list(one, ADMIN, '198.51.100.20')).toBe(200); // a value that succeeded is never throttled
    const statuses = await spread([one], ADDRESS_LIMIT * 2, () => ({
      token: codec.generate().token,
      address: ATTACKER,
    }));
    expect(statuses.slice(0, ADDRESS_LIMIT).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(ADDRESS_LIMIT).every((s) => s === 429)).toBe(true);
    expect(await list(one, ADMIN, ATTACKER)).toBe(200);
  }, 240_000);
});
