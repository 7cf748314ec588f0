// How long a revoke's answer takes on one instance, each token cached on that instance just before its
// revoke, and whether the instance still accepts it right after the answer (it must not: its answer
// waits until its own listener applied the change). Starts dist/main.js of this checkout (or of the
// checkout given as DIST_DIR, to compare with another version) on a fresh database of the local
// PostgreSQL; the first 20 revokes warm up and are not counted.
// Run: npm run build && node bench/revoke-answer.js [N=200]   (PG: BENCH_PG_URL)
import { loadavg } from 'node:os';
import { api, startApp } from './lib/app.js';
import { ADMIN_TOKEN, createPrivateDatabase, teardown } from './lib/context.js';

const n = Number(process.argv[2] ?? 200);
const dir = process.env.DIST_DIR ?? process.cwd();
const WARMUP = 20;

const status = async (app, path, body, token) =>
  (
    await fetch(app.url + path, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
  ).status;

const times = [];
let acceptedAfter = 0;
try {
  const db = await createPrivateDatabase('revoke');
  const app = await startApp('revoke', { DATABASE_URL: db.url, KEYWARD_SHUTDOWN_DRAIN: '0' }, [], { cwd: dir });
  for (let i = 0; i < n + WARMUP; i++) {
    const made = await api(app, 'POST', '/api-token/create', { access: 'read' });
    if ((await status(app, '/api-token/list', {}, made.token)) !== 200) throw new Error('a new token was refused');
    const start = performance.now();
    const revoked = await status(app, '/api-token/revoke', { id: made.id }, ADMIN_TOKEN);
    const ms = performance.now() - start;
    if (revoked !== 200) throw new Error(`revoke answered ${revoked}`);
    if ((await status(app, '/api-token/list', {}, made.token)) !== 401) acceptedAfter++;
    if (i >= WARMUP) times.push(ms);
  }
} finally {
  await teardown();
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
