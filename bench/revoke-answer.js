// How long a revoke's answer takes on one instance, each token cached on that instance just before its
// revoke, and whether the instance still accepts it right after the answer (it must not: its answer
// waits until its own listener applied the change). Starts dist/main.js of this checkout (or of the
// checkout given as DIST_DIR, to compare with another version) on a fresh database of the local
// PostgreSQL; the first 20 revokes warm up and are not counted.
// Run: npm run build && node bench/revoke-answer.js [N=200]   (PG: KEYWARD_BENCH_PG_URL)
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { loadavg } from 'node:os';
import pg from 'pg';

const n = Number(process.argv[2] ?? 200);
const dir = process.env.DIST_DIR ?? process.cwd();
const adminUrl = process.env.KEYWARD_BENCH_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const ADMIN = `bench-admin-${randomBytes(12).toString('hex')}`;
const WARMUP = 20;

const port = await new Promise((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const { port } = s.address();
    s.close(() => resolve(port));
  });
});
const dbName = `keyward_revoke_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
await admin.query(`CREATE DATABASE ${dbName}`);
const url = new URL(adminUrl);
url.pathname = `/${dbName}`;
const child = spawn(process.execPath, ['dist/main.js'], {
  cwd: dir,
  env: {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    DATABASE_URL: url.toString(),
    KEYWARD_ADMIN_TOKEN: ADMIN,
    LOG_LEVEL: 'warn',
    KEYWARD_SHUTDOWN_DRAIN: '0',
  },
  stdio: 'ignore',
});
const base = `http://127.0.0.1:${port}`;
for (;;) {
  try {
    if ((await fetch(`${base}/api/v1/public/ping`)).ok) break;
  } catch {
    // not listening yet
  }
  await new Promise((r) => setTimeout(r, 100));
}
const post = async (path, body, token = ADMIN) => {
  const res = await fetch(base + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json().catch(() => null) };
};
const times = [];
let acceptedAfter = 0;
try {
  for (let i = 0; i < n + WARMUP; i++) {
    const made = (await post('/api-token/create', { access: 'read' })).body;
    if ((await post('/api-token/list', {}, made.token)).status !== 200) throw new Error('a new token was refused');
    const start = performance.now();
    const revoked = await post('/api-token/revoke', { id: made.id });
    const ms = performance.now() - start;
    if (revoked.status !== 200) throw new Error(`revoke answered ${revoked.status}`);
    if ((await post('/api-token/list', {}, made.token)).status !== 401) acceptedAfter++;
    if (i >= WARMUP) times.push(ms);
  }
} finally {
  child.kill('SIGTERM');
  await new Promise((r) => child.on('exit', r));
  await admin.query(`DROP DATABASE ${dbName} WITH (FORCE)`);
  await admin.end();
}
times.sort((a, b) => a - b);
const q = (p) => Number(times[Math.min(times.length - 1, Math.floor(p * times.length))].toFixed(2));
console.log(
  JSON.stringify({
    dir,
    revokes: n,
    revokeAnswerMs: { p50: q(0.5), p90: q(0.9), p99: q(0.99) },
    acceptedRightAfterAnswer: acceptedAfter,
    loadavg: loadavg().map((l) => Number(l.toFixed(2))),
  }),
);
