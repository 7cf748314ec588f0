import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenCache } from '../../src/verification/token-cache.service.js';
import { TokenEventsService } from '../../src/verification/token-events.service.js';
import { UsageTracker } from '../../src/verification/usage-tracker.service.js';
import { ADMIN_TOKEN, startApp } from '../support/app.js';
import { TEST_DB_MODE, type TestDatabase } from '../support/db.js';
import { PgCluster } from '../support/pg-cluster.js';
import { freePort, spawnService, waitForHttp, type Proc } from '../support/process.js';

/**
 * Fault suite: the service against its own PostgreSQL cluster, which the tests stop, freeze (SIGSTOP
 * of the postmaster and every backend), restart, and whose backends they kill; and the service itself
 * killed with SIGKILL. What must hold: no 500s and no hangs (503 + Retry-After instead), recently
 * verified tokens keep working during an outage, no revoked token accepted after the invalidation
 * listener dies, bounded staleness with a half-open listener, nothing acknowledged is lost, no
 * single-use token succeeds twice, and a rate-limited token falls back to the in-memory window.
 */

const TIMEOUTS = { DATABASE_CONNECT_TIMEOUT: '1s', DATABASE_POOL_TIMEOUT: '1500ms', DATABASE_QUERY_TIMEOUT: '2s' };
const HEARTBEAT_MS = 250;
const BASE_ENV = {
  ...TIMEOUTS,
  KEYWARD_LISTENER_HEARTBEAT: `${HEARTBEAT_MS}ms`,
  KEYWARD_AUTH_CACHE_TTL: '1h',
  KEYWARD_CLEANUP_INTERVAL: 'off',
  KEYWARD_LAST_USED_FLUSH: '0',
};
const ALLOWED = new Set([200, 201, 204, 401, 429, 503]);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Answer {
  status: number; // 0: no answer (connection refused or reset, or the client gave up)
  body: any;
  retryAfter: string | null;
  started: number;
  ms: number;
}

async function call(base: string, path: string, body: unknown, token = ADMIN_TOKEN): Promise<Answer> {
  const started = Date.now();
  try {
    const res = await fetch(base + path, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(20_000),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    return {
      status: res.status,
      body: parsed,
      retryAfter: res.headers.get('retry-after'),
      started,
      ms: Date.now() - started,
    };
  } catch {
    return { status: 0, body: null, retryAfter: null, started, ms: Date.now() - started };
  }
}

const create = (base: string, description: string) =>
  call(base, '/publisher.v1/api-token/create', { access: 'read', description });
const verify = (base: string, token: string) => call(base, '/v1/tokens/verify', { token });

function expect503(a: Answer): void {
  expect(a.status).toBe(503);
  expect(a.body.error.code).toBe('service_unavailable');
  expect(typeof a.body.error.trace_id).toBe('string');
  expect(Number(a.retryAfter)).toBeGreaterThan(0);
}

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const v = await fn();
    if (v) return v;
    await sleep(100);
  }
  throw new Error(`${what}: not within ${ms} ms`);
}

describe.skipIf(TEST_DB_MODE === 'pglite')(
  'faults (PostgreSQL only: needs a private server to stop, freeze and kill, which PGlite does not have)',
  () => {
    let cluster: PgCluster;

    beforeAll(async () => {
      cluster = await PgCluster.create();
    }, 60_000);
    afterAll(async () => cluster?.destroy());

    async function database(): Promise<TestDatabase & { name: string }> {
      const name = `faults_${randomBytes(4).toString('hex')}`;
      await cluster.sql(`CREATE DATABASE ${name}`);
      const url = cluster.url(name);
      return { mode: 'postgres', name, url, env: { DATABASE_URL: url }, drop: async () => undefined };
    }

    const rows = (db: { name: string }, text: string, params: unknown[] = []) =>
      cluster.sql<Record<string, any>>(text, params, db.name);

    it('outage under a mixed load of create and verify: only 2xx/401/429/503, nothing lost or duplicated, recovery without restart', async () => {
      const db = await database();
      const app = await startApp(BASE_ENV, db);
      try {
        // Tokens verified once before the outage (so cached) and one never verified.
        const warm: string[] = [];
        for (let i = 0; i < 4; i++) warm.push((await create(app.url, `warm-${i}`)).body.token);
        for (const t of warm) expect((await verify(app.url, t)).body.code).toBe('VALID');
        const cold = (await create(app.url, 'cold')).body.token as string;

        let phase: 'before' | 'outage' | 'after' = 'before';
        let running = true;
        let n = 0;
        const creates: Array<Answer & { phase: string; description: string }> = [];
        const verifies: Array<Answer & { phase: string; warm: boolean }> = [];
        const creator = async () => {
          while (running) {
            const description = `load-${n++}`;
            const p = phase;
            creates.push({ ...(await create(app.url, description)), phase: p, description });
          }
        };
        const verifier = async (i: number) => {
          while (running) {
            const p = phase;
            const isWarm = i % 4 !== 3;
            const token = isWarm ? warm[i % warm.length]! : cold;
            verifies.push({ ...(await verify(app.url, token)), phase: p, warm: isWarm });
            i++;
          }
        };
        const load = Promise.all([creator(), creator(), verifier(0), verifier(1), verifier(2)]);

        await sleep(500);
        phase = 'outage';
        await cluster.stop();
        await sleep(2500);
        await cluster.start();
        const downFor = Date.now();
        // Recovery, same process: creates succeed again.
        await until('a create succeeds after the restart', async () => (await create(app.url, 'probe')).status === 200);
        const recoveredIn = Date.now() - downFor;
        phase = 'after';
        await sleep(500);
        running = false;
        await load;

        const statuses = [...creates, ...verifies].map((a) => a.status);
        const unexpected = statuses.filter((s) => !ALLOWED.has(s));
        expect(unexpected).toEqual([]);
        const outageCreates = creates.filter((c) => c.phase === 'outage' && c.status === 503);
        expect(outageCreates.length).toBeGreaterThan(0);
        for (const a of outageCreates) expect503(a);
        // Cached tokens kept working during the outage; the never-verified one got 503, not 500.
        const warmDuring = verifies.filter((v) => v.phase === 'outage' && v.warm);
        expect(warmDuring.length).toBeGreaterThan(0);
        expect(warmDuring.filter((v) => v.status !== 200 || v.body.code !== 'VALID')).toEqual([]);
        const coldDuring = verifies.filter((v) => v.phase === 'outage' && !v.warm);
        expect(coldDuring.every((v) => v.status === 200 || v.status === 503)).toBe(true);

        // Nothing created lost or duplicated.
        const acked = creates.filter((c) => c.status === 200);
        expect(acked.length).toBeGreaterThan(0);
        const stored = await rows(db, "SELECT id::text, description FROM api_tokens WHERE description LIKE 'load-%'");
        const byDescription = new Map<string, number>();
        for (const r of stored) byDescription.set(r.description, (byDescription.get(r.description) ?? 0) + 1);
        expect([...byDescription.values()].filter((c) => c > 1)).toEqual([]);
        const ids = new Set(stored.map((r) => r.id));
        for (const a of acked) expect(ids.has(a.body.id)).toBe(true);
        for (const a of acked.slice(-10)) expect((await verify(app.url, a.body.token)).body.code).toBe('VALID');
        console.log(
          `[faults] outage: ${creates.length} creates (${acked.length} acknowledged, ${outageCreates.length} 503), ` +
            `${verifies.length} verifies (${warmDuring.length} from the cache during the outage), ` +
            `max 503 latency ${Math.max(...outageCreates.map((c) => c.ms))} ms, recovered ${recoveredIn} ms after the restart`,
        );
      } finally {
        await app.close();
      }
    }, 60_000);

    it('frozen database (SIGSTOP of postmaster and backends): 503 within the configured timeouts, then recovery', async () => {
      const db = await database();
      const app = await startApp(BASE_ENV, db);
      try {
        const warm = (await create(app.url, 'warm')).body.token as string;
        expect((await verify(app.url, warm)).body.code).toBe('VALID');
        const cold = (await create(app.url, 'cold')).body.token as string;

        cluster.freeze();
        let answers: Answer[];
        try {
          answers = await Promise.all([
            create(app.url, 'frozen-1'),
            verify(app.url, cold),
            create(app.url, 'frozen-2'),
          ]);
          // Once the database is known down, requests do not wait at all.
          answers.push(await create(app.url, 'frozen-3'));
          const cached = await verify(app.url, warm);
          expect(cached.status).toBe(200);
          expect(cached.body.code).toBe('VALID');
        } finally {
          cluster.thaw();
        }
        for (const a of answers) expect503(a);
        // Bounded by the pool wait plus one statement (1.5 s + 2 s here); generous slack for a busy machine.
        const bound = 1500 + 2000;
        for (const a of answers) expect(a.ms).toBeLessThan(bound + 4000);
        console.log(`[faults] frozen: 503 after ${answers.map((a) => a.ms).join(', ')} ms (bound ${bound} ms)`);

        await until('a create succeeds after the thaw', async () => (await create(app.url, 'after')).status === 200);
      } finally {
        await app.close();
      }
    }, 60_000);

    it('rate-limited token during an outage: its lease, then the in-memory window per pass, then leases again', async () => {
      const db = await database();
      const app = await startApp(BASE_ENV, db);
      try {
        const limit = 200; // leases of L = 4 points (2 % of the limit)
        const made = await call(app.url, '/publisher.v1/api-token/create', {
          access: 'read',
          ratelimit: { limit, duration: 600_000 },
        });
        expect(made.status).toBe(200);
        const token = made.body.token as string;
        const shared = async () =>
          (await rows(db, 'SELECT coalesce(sum(points), 0)::int AS points FROM ratelimits'))[0].points as number;
        for (let i = 0; i < 6; i++) expect((await verify(app.url, token)).body.code).toBe('VALID');
        expect(await shared()).toBe(8); // two leases of 4: 2 points left in the second

        await cluster.stop();
        const during: Answer[] = [];
        try {
          for (let i = 0; i < limit + 10; i++) during.push(await verify(app.url, token));
        } finally {
          await cluster.start();
        }
        // Never a 500 or 503: the 2 leased points, then the instance's own in-memory window of `limit`
        // passes (one point per pass, as before leases), then RATE_LIMITED.
        expect(during.filter((a) => a.status !== 200)).toEqual([]);
        const codes = during.map((a) => a.body.code as string);
        expect(codes.filter((c) => c === 'VALID').length).toBe(2 + limit);
        expect(codes.slice(-8)).toEqual(Array(8).fill('RATE_LIMITED'));

        // Recovery: the next pass leases from the shared window again.
        const recovered = await until('a pass leases from the database again', async () => {
          const a = await verify(app.url, token);
          return (await shared()) > 8 && a;
        });
        expect(recovered.body.code).toBe('VALID');
        expect(await shared()).toBe(12);
        expect((await verify(app.url, token)).body.code).toBe('VALID');
      } finally {
        await app.close();
      }
    }, 60_000);

    it('listener killed, then a revocation in plain SQL: the revoked token is accepted 0 times', async () => {
      const db = await database();
      const app = await startApp(BASE_ENV, db);
      try {
        const events = app.app.get(TokenEventsService);
        await until('listener healthy', async () => events.isHealthy());
        const made = (await create(app.url, 'victim')).body;
        expect((await verify(app.url, made.token)).body.code).toBe('VALID');
        const cache = app.app.get(TokenCache);
        expect(cache.get(cache.keyOf(made.token))).toBeDefined();

        const [pid] = await cluster.backends('keyward-listener', db.name);
        expect(pid).toBeDefined();
        // Waits until the backend is gone (PostgreSQL ≥ 14); its notices are lost from here on.
        await cluster.sql('SELECT pg_terminate_backend($1, 5000)', [pid]);
        await rows(db, 'UPDATE api_tokens SET revoked_at = now() WHERE id = $1', [made.id]);

        let accepted = 0;
        let answered = 0;
        const end = Date.now() + 2000; // spans the reconnect and the first heartbeats of the new session
        while (Date.now() < end || answered < 10) {
          const a = await verify(app.url, made.token);
          expect(a.status).toBe(200);
          answered++;
          if (a.body.code === 'VALID') accepted++;
        }
        expect(accepted).toBe(0);
        await until('listener healthy again', async () => events.isHealthy());
        console.log(`[faults] listener killed: revoked token accepted ${accepted} of ${answered} times`);
      } finally {
        await app.close();
      }
    }, 60_000);

    it('half-open listener (its backend frozen): a revoked token is accepted for at most 2 heartbeats', async () => {
      const db = await database();
      const app = await startApp(BASE_ENV, db);
      const events = app.app.get(TokenEventsService);
      const bound = events.staleness;
      expect(bound).toBe(2 * HEARTBEAT_MS);
      let frozen: number | undefined;
      try {
        await until('listener healthy', async () => events.isHealthy());
        const made = (await create(app.url, 'victim')).body;
        expect((await verify(app.url, made.token)).body.code).toBe('VALID');

        [frozen] = await cluster.backends('keyward-listener', db.name);
        process.kill(frozen!, 'SIGSTOP');
        const revokedAt = Date.now();
        await rows(db, 'UPDATE api_tokens SET revoked_at = now() WHERE id = $1', [made.id]);

        let lastAccepted: number | null = null;
        let firstRejected: number | null = null;
        let accepted = 0;
        while (Date.now() - revokedAt < bound + 2000) {
          const a = await verify(app.url, made.token);
          expect(a.status).toBe(200);
          if (a.body.code === 'VALID') {
            accepted++;
            lastAccepted = a.started;
          } else {
            expect(a.body.code).toBe('REVOKED');
            firstRejected ??= Date.now();
          }
        }
        expect(firstRejected).not.toBeNull();
        // Every accepted request started within the bound after the revocation was sent.
        const staleness = lastAccepted === null ? 0 : lastAccepted - revokedAt;
        expect(staleness).toBeLessThanOrEqual(bound);
        console.log(
          `[faults] half-open listener: revoked token accepted ${accepted} times, for ${staleness} ms (bound ${bound} ms); ` +
            `rejected ${firstRejected! - revokedAt} ms after the revocation`,
        );
        // The service notices and reconnects on a new backend.
        await until('listener healthy on a new connection', async () => events.isHealthy());
      } finally {
        if (frozen) process.kill(frozen, 'SIGCONT');
        await app.close();
      }
    }, 60_000);

    it('last_used_at: kept after a failed flush and written on graceful shutdown', async () => {
      const db = await database();
      const app = await startApp({ ...BASE_ENV, KEYWARD_LAST_USED_FLUSH: '1h' }, db);
      let closed = false;
      try {
        const a = (await create(app.url, 'used-a')).body;
        const b = (await create(app.url, 'used-b')).body;
        expect((await verify(app.url, a.token)).body.code).toBe('VALID');
        const usage = app.app.get(UsageTracker);
        await cluster.stop();
        try {
          expect(await usage.flush()).toBe(0); // fails: the database is down
          expect(usage.pendingCount).toBeGreaterThanOrEqual(1);
        } finally {
          await cluster.start();
        }
        await until('flush after the restart', async () => (await usage.flush()) >= 1);
        const [rowA] = await rows(db, 'SELECT last_used_at FROM api_tokens WHERE id = $1', [a.id]);
        expect(rowA!.last_used_at).not.toBeNull();

        await until('database back for the app', async () => (await create(app.url, 'x')).status === 200);
        expect((await verify(app.url, b.token)).body.code).toBe('VALID');
        await app.close();
        closed = true;
        const [rowB] = await rows(db, 'SELECT last_used_at FROM api_tokens WHERE id = $1', [b.id]);
        expect(rowB!.last_used_at).not.toBeNull();
      } finally {
        if (!closed) await app.close();
      }
    }, 60_000);

    it('kill -9 during bursts of create and single-use consumption: every acknowledged create works, no single-use token succeeds twice', async () => {
      const db = await database();
      const port = await freePort();
      const base = `http://127.0.0.1:${port}`;
      const env = {
        ...BASE_ENV,
        DATABASE_URL: db.url!,
        PORT: String(port),
        HOST: '127.0.0.1',
        KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN,
        LOG_LEVEL: 'warn',
      };
      let proc: Proc = spawnService(env);
      try {
        await waitForHttp(`${base}/api/v1/public/ping`, proc);
        const regular: Array<{ id: string; token: string }> = [];
        const single: Array<{ id: string; token: string }> = [];
        const successes = new Map<string, number>();
        let running = true;
        const creator = async () => {
          while (running) {
            const a = await create(base, 'burst');
            if (a.status === 200) regular.push({ id: a.body.id, token: a.body.token });
          }
        };
        const singleCreator = async () => {
          while (running) {
            const a = await call(base, '/auth/tokens', { ttl: '1h', remove_on_use: true });
            if (a.status === 201) {
              single.push({ id: a.body.id, token: a.body.token });
              // Two concurrent consumers per token.
              void Promise.all([verify(base, a.body.token), verify(base, a.body.token)]).then((answers) => {
                for (const v of answers) {
                  if (v.status === 200 && v.body.code === 'VALID') {
                    successes.set(a.body.id, (successes.get(a.body.id) ?? 0) + 1);
                  }
                }
              });
            }
          }
        };
        const load = Promise.all([creator(), creator(), singleCreator(), singleCreator()]);
        await until('a burst under way', async () => regular.length >= 5 && single.length >= 5, 20_000);
        proc.child.kill('SIGKILL');
        await proc.exited;
        running = false;
        await load;
        await sleep(200); // consumers in flight see their connection reset

        expect([...successes.values()].filter((c) => c > 1)).toEqual([]);
        const before = new Map(successes);

        proc = spawnService(env);
        await waitForHttp(`${base}/api/v1/public/ping`, proc);
        for (const t of regular) {
          const v = await verify(base, t.token);
          expect(v.body.code, `acknowledged token ${t.id}`).toBe('VALID');
        }
        let burnt = 0;
        for (const t of single) {
          const v = await verify(base, t.token);
          expect(['VALID', 'USED']).toContain(v.body.code);
          if (v.body.code === 'VALID') successes.set(t.id, (successes.get(t.id) ?? 0) + 1);
          if (v.body.code === 'USED' && !before.has(t.id)) burnt++;
          if (before.has(t.id)) expect(v.body.code).toBe('USED');
        }
        expect([...successes.values()].filter((c) => c > 1)).toEqual([]);
        const stored = await rows(db, 'SELECT count(*)::int AS n FROM api_tokens');
        console.log(
          `[faults] kill -9: ${regular.length} acknowledged creates and ${single.length} single-use tokens all present ` +
            `(${stored[0]!.n} rows); ${before.size} consumed before the kill, ${burnt} burnt by it (answer lost)`,
        );
      } finally {
        await proc.stop();
      }
    }, 90_000);
  },
);
