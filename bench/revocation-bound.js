// How long other instances keep accepting a token after a revoke's (or disable's) answer on one instance.
// Starts three instances (dist/main.js) on a fresh database of the local PostgreSQL, creates N read
// tokens, warms every instance's cache with them, then for each token: cache it again on B and C,
// revoke it on A (even tokens) or disable it (odd ones), and from the moment the answer arrives poll B
// and C (one request after another, both at once) until each refuses it, with LOAD (8) loops of cached
// checks on B and C in the background. One pair = one change observed on one of B and C (2N pairs).
// Prints the latency distribution of "answer → first request B or C refused" and how many requests
// sent after the answer were still accepted; also the change's own answer time (what the confirmation
// costs with CONFIRM=all, which starts the instances with KEYWARD_REVOKE_CONFIRM=all).
// Run: npm run build && LOAD=8 node bench/revocation-bound.js [N=100]   (PG: KEYWARD_BENCH_PG_URL)
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { loadavg } from 'node:os';
import pg from 'pg';

const n = Number(process.argv[2] ?? 100);
const confirm = process.env.CONFIRM === 'all' ? 'all' : 'off';
const loadBefore = loadavg().map((l) => l.toFixed(2));
const adminUrl = process.env.KEYWARD_BENCH_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const ADMIN = `bench-admin-${randomBytes(12).toString('hex')}`;

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

const dbName = `keyward_bound_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
await admin.query(`CREATE DATABASE ${dbName}`);
const url = new URL(adminUrl);
url.pathname = `/${dbName}`;

const procs = [];
async function start() {
  const port = await freePort();
  const child = spawn(process.execPath, ['dist/main.js'], {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: url.toString(),
      KEYWARD_ADMIN_TOKEN: ADMIN,
      LOG_LEVEL: 'warn',
      KEYWARD_SHUTDOWN_DRAIN: '0',
      KEYWARD_REVOKE_CONFIRM: confirm,
    },
    stdio: 'ignore',
  });
  procs.push(child);
  const base = `http://127.0.0.1:${port}`;
  for (;;) {
    try {
      if ((await fetch(`${base}/api/v1/public/ping`)).ok) return base;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

try {
  const a = await start();
  const [b, c] = await Promise.all([start(), start()]);
  const headers = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
  const tokens = [];
  for (let i = 0; i < n; i++) {
    const res = await fetch(`${a}/api-token/create`, { method: 'POST', headers, body: '{"access":"read"}' });
    tokens.push(await res.json());
  }
  const check = async (base, token) =>
    (await fetch(`${base}/v1/auth/check`, { headers: { authorization: `Bearer ${token}` } })).status;
  for (const t of tokens) for (const base of [a, b, c]) await check(base, t.token);
  // Background load: LOAD loops of cached checks of other tokens on B and C while the pairs run.
  const load = Number(process.env.LOAD ?? 8);
  const others = [];
  for (let i = 0; i < 20; i++) {
    const res = await fetch(`${a}/api-token/create`, { method: 'POST', headers, body: '{"access":"read"}' });
    others.push((await res.json()).token);
  }
  let loading = true;
  const loops = Array.from({ length: load }, async (_, i) => {
    while (loading) await check(i % 2 ? b : c, others[i % others.length]).catch(() => undefined);
  });
  const delays = [];
  const answers = [];
  const outcomes = {};
  let acceptsAfterAnswer = 0;
  const pairsWithAccept = new Set();
  for (const [i, t] of tokens.entries()) {
    for (const base of [b, c]) await check(base, t.token); // cached again, just before
    const route = i % 2 ? 'disable' : 'revoke';
    const started = performance.now();
    const res = await fetch(`${a}/api-token/${route}`, { method: 'POST', headers, body: JSON.stringify({ id: t.id }) });
    if (res.status !== 200) throw new Error(`${route} answered ${res.status}`);
    await res.arrayBuffer();
    const answered = performance.now();
    answers.push(answered - started);
    const outcome = res.headers.get('x-keyward-invalidation') ?? '(no header)';
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    await Promise.all(
      [b, c].map(async (base) => {
        for (;;) {
          const sent = performance.now();
          const status = await check(base, t.token);
          if (status !== 200) {
            delays.push(sent - answered);
            return;
          }
          acceptsAfterAnswer++;
          pairsWithAccept.add(`${i}:${base}`);
        }
      }),
    );
  }
  loading = false;
  await Promise.all(loops);
  const dist = (values) => {
    const v = [...values].sort((x, y) => x - y);
    const q = (p) => v[Math.min(v.length - 1, Math.floor(p * v.length))].toFixed(1);
    return { p50: q(0.5), p99: q(0.99), max: v[v.length - 1].toFixed(1) };
  };
  console.log(
    JSON.stringify({
      confirm,
      pairs: delays.length,
      acceptsAfterAnswer,
      pairsWithAccept: pairsWithAccept.size,
      refusedAfterMs: dist(delays),
      changeAnswerMs: dist(answers),
      outcomes,
      load,
      loadavg: {
        before: loadBefore.join(' / '),
        after: loadavg()
          .map((l) => l.toFixed(2))
          .join(' / '),
      },
      note:
        'refusedAfterMs: ms from the change answer on A to the sending of the first request B or C refused; ' +
        'changeAnswerMs: the revoke/disable round trip on A',
    }),
  );
} finally {
  for (const p of procs) p.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 1500));
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await admin.end();
}
