#!/usr/bin/env node
// Keyward benchmarks: `npm run bench` (= `npm run build && node bench/run.js`).
//
//   node bench/run.js [--quick] [--only=1,2,4]     BENCH_DURATION=10 (seconds per autocannon run)
//
// Creates a throwaway PostgreSQL database (127.0.0.1:5432, user postgres, trust auth; BENCH_PG_URL to
// override), starts the built app (`node dist/main.js`) once per configuration, drives it with the
// autocannon programmatic API on loopback, and writes bench/results/<stamp>.json and bench/RESULTS.md.
// Every run of a scenario is preceded by a run of the bare @Public() ping endpoint of the same app
// process, so each ratio compares numbers measured minutes apart on the same machine. The database and
// the app processes are removed at the end, also on failure or Ctrl-C. See bench/README.md.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import argon2 from 'argon2';
import autocannon from 'autocannon';
import pg from 'pg';
import { TokenCodec } from '../dist/tokens/token-codec.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ARGS = process.argv.slice(2);
const QUICK = ARGS.includes('--quick');
const ONLY = (
  ARGS.find((a) => a.startsWith('--only='))
    ?.slice(7)
    .split(',') ?? []
).filter(Boolean);
const DURATION = QUICK ? 3 : Number(process.env.BENCH_DURATION ?? 10);
if (!Number.isFinite(DURATION) || DURATION < 1 || DURATION > 300) throw new Error('BENCH_DURATION: 1..300 seconds');
const CONNECTIONS = 50;
const PG_BASE = process.env.BENCH_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432';
const DB_NAME = `keyward_bench_${process.pid}_${Date.now().toString(36)}`;
const DATABASE_URL = `${PG_BASE}/${DB_NAME}`;
const ADMIN_TOKEN = `bench-admin-${randomBytes(24).toString('hex')}`;
const TOKENS = Number(process.env.BENCH_TOKENS ?? 1000); // distinct valid tokens for #2, #3 and #5 (dev: fewer)
const SCALE_LEVELS = [1_000, 100_000, 1_000_000];
const CLEANUP_ROWS = 1_000_000;
const CLEANUP_LOCK_KEY = 0x6b77636c; // src/cleanup/cleanup.repository.ts
const TMP = mkdtempSync(path.join(os.tmpdir(), 'keyward-bench-'));
const codec = new TokenCodec('kw_');
const want = (n) => ONLY.length === 0 || ONLY.includes(String(n));

// ---------------------------------------------------------------------------------------------- cleanup
const apps = new Set();
let dbCreated = false;
let finishing = false;

async function teardown() {
  if (finishing) return;
  finishing = true;
  await Promise.all([...apps].map((a) => a.stop().catch(() => undefined)));
  if (dbCreated) {
    const admin = new pg.Client({ connectionString: `${PG_BASE}/postgres` });
    try {
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS "${DB_NAME}" WITH (FORCE)`);
      dbCreated = false;
    } catch (err) {
      console.error(`bench: could not drop database ${DB_NAME}: ${err.message}`);
    } finally {
      await admin.end().catch(() => undefined);
    }
  }
  rmSync(TMP, { recursive: true, force: true });
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    console.error(`\nbench: ${signal}, cleaning up`);
    void teardown().finally(() => process.exit(130));
  });
}

// ---------------------------------------------------------------------------------------------- helpers
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (msg) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${msg}`);
const round = (n, d = 2) => (n == null || !Number.isFinite(n) ? null : Math.round(n * 10 ** d) / 10 ** d);

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function procStatus(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null; // MiB
  } catch {
    return null;
  }
}

const CLK_TCK = 100; // Linux USER_HZ
function cpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK; // utime + stime
  } catch {
    return null;
  }
}

/** Busy and total jiffies of the whole machine (/proc/stat). */
function systemJiffies() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = f[3] + (f[4] ?? 0);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/** CPU ms of every `postgres` process (server and backends). */
function postgresCpuMs() {
  let sum = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (!stat.includes('(postgres)')) continue;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      sum += ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
    } catch {
      /* exited */
    }
  }
  return sum;
}

/** Starts `node dist/main.js` (with the argon2 call counter preloaded) and waits for the ping. */
async function startApp(name, extraEnv = {}) {
  const port = await freePort();
  const countFile = path.join(TMP, `argon2-${name}.json`);
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'production',
    DATABASE_URL,
    KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN,
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    PORT: String(port),
    KEYWARD_CLEANUP_INTERVAL: '0',
    BENCH_ARGON2_COUNT_FILE: countFile,
    ...extraEnv,
  };
  const child = spawn(process.execPath, ['--require', path.join(ROOT, 'bench/argon2-counter.cjs'), 'dist/main.js'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tail = [];
  const keep = (chunk) => {
    for (const line of chunk.toString().split('\n')) if (line.trim()) tail.push(line.slice(0, 500));
    if (tail.length > 200) tail.splice(0, tail.length - 200);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let exited = null;
  const exit = new Promise((resolve) => child.once('exit', (code, sig) => resolve((exited = { code, sig }))));
  const url = `http://127.0.0.1:${port}`;
  const app = {
    name,
    url,
    pid: child.pid,
    env: Object.fromEntries(Object.entries(extraEnv)),
    tail,
    async stop() {
      apps.delete(app);
      if (exited) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exit;
      clearTimeout(t);
    },
    argon2Calls() {
      try {
        return JSON.parse(readFileSync(countFile, 'utf8'));
      } catch {
        return { verify: 0, hash: 0 };
      }
    },
    rss: () => procStatus(child.pid),
    cpu: () => cpuMs(child.pid),
  };
  apps.add(app);
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited) throw new Error(`app ${name} exited (${JSON.stringify(exited)}):\n${tail.join('\n')}`);
    try {
      const res = await fetch(`${url}/api/v1/public/ping`);
      if (res.ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error(`app ${name} did not answer the ping within 60 s:\n${tail.join('\n')}`);
    await sleep(100);
  }
  log(`app ${name} up on ${url} (pid ${child.pid}) ${JSON.stringify(extraEnv)}`);
  return app;
}

async function api(app, method, route, body, token = ADMIN_TOKEN) {
  const res = await fetch(app.url + route, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${route}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** Runs `fn(i)` for i in [0, n) with `concurrency` in flight. */
async function pool(n, concurrency, fn) {
  const out = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await fn(i);
      }
    }),
  );
  return out;
}

/** Round-robin over `bodies` (one shared counter for every connection). */
function roundRobin(bodies) {
  let i = 0;
  return [{ setupRequest: (req) => ({ ...req, body: bodies[i++ % bodies.length] }) }];
}

/**
 * One autocannon run against `app`, with the app's CPU time, peak RSS and argon2 calls over the run.
 * `opts` are autocannon options (path, method, headers, body, requests, connections, duration).
 */
async function load(app, label, { path: route, duration = DURATION, connections = CONNECTIONS, ...opts }, control) {
  await sleep(300);
  const argonBefore = app.argon2Calls();
  const cpuBefore = app.cpu();
  const sysBefore = systemJiffies();
  const pgBefore = postgresCpuMs();
  const benchBefore = process.cpuUsage();
  let rssMax = app.rss() ?? 0;
  const sampler = setInterval(() => (rssMax = Math.max(rssMax, app.rss() ?? 0)), 250);
  const started = Date.now();
  const result = await new Promise((resolve, reject) => {
    const instance = autocannon({ url: app.url + route, connections, duration, timeout: 60, ...opts }, (err, res) =>
      err ? reject(err) : resolve(res),
    );
    if (control) control.stop = () => instance.stop();
  });
  const wallMs = Date.now() - started;
  clearInterval(sampler);
  const cpu = app.cpu() - cpuBefore;
  const sysAfter = systemJiffies();
  const cores = os.cpus().length;
  const sysBusyMs = ((sysAfter.busy - sysBefore.busy) / (sysAfter.total - sysBefore.total)) * cores * wallMs;
  const pgMs = postgresCpuMs() - pgBefore;
  const benchUsage = process.cpuUsage(benchBefore);
  const benchMs = (benchUsage.user + benchUsage.system) / 1000;
  await sleep(450); // let the counter file flush
  const argonAfter = app.argon2Calls();
  const r = {
    label,
    app: app.name,
    route,
    connections,
    durationS: round(wallMs / 1000, 1),
    reqPerSec: round(result.requests.total / (wallMs / 1000), 0),
    total: result.requests.total,
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    appCpuCores: round(cpu / wallMs, 2),
    benchCpuCores: round(benchMs / wallMs, 2),
    postgresCpuCores: round(Math.max(0, pgMs) / wallMs, 2),
    otherCpuCores: round(Math.max(0, sysBusyMs - cpu - benchMs - Math.max(0, pgMs)) / wallMs, 2),
    appCpuUsPerReq: result.requests.total ? round((cpu * 1000) / result.requests.total, 0) : null,
    appRssMaxMiB: round(rssMax, 1),
    argon2Verify: argonAfter.verify - argonBefore.verify,
    argon2Hash: argonAfter.hash - argonBefore.hash,
  };
  log(
    `${label}: ${r.reqPerSec} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms, max ${r.max} ms, ` +
      `errors ${r.errors}, non2xx ${r.non2xx}, cpu app/bench/pg/other ${r.appCpuCores}/${r.benchCpuCores}/${r.postgresCpuCores}/${r.otherCpuCores}, argon2 verify ${r.argon2Verify}`,
  );
  return r;
}

const bare = (app, label = 'bare ping') => load(app, label, { path: '/api/v1/public/ping' });

/** A well-formed token (valid checksum) whose lookup id is not stored: one DB lookup, no argon2. */
const unknownToken = () => codec.generate().token;
/** Token shape, wrong checksum: must be rejected before any I/O. */
function garbageToken() {
  const t = codec.generate().token;
  const last = t.at(-1);
  return t.slice(0, -1) + (last === 'A' ? 'B' : 'A');
}

/** argon2id with the app's default parameters, `parallel` loops in this process for `seconds`. */
async function argon2Limit(kind, seconds, parallel = os.cpus().length) {
  const options = { type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 };
  const secret = codec.generate().token;
  const hash = await argon2.hash(secret, options);
  const end = Date.now() + seconds * 1000;
  let n = 0;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (Date.now() < end) {
        if (kind === 'verify') await argon2.verify(hash, secret);
        else await argon2.hash(secret, options);
        n++;
      }
    }),
  );
  const perSec = n / ((Date.now() - started) / 1000);
  log(`argon2 ${kind} limit in this process (${parallel} parallel): ${round(perSec, 1)}/s`);
  return round(perSec, 1);
}

const verdict = (ok) => (ok ? 'PASS' : 'MISS');

// ---------------------------------------------------------------------------------------------- main
async function main() {
  const t0 = Date.now();
  const results = { scenarios: {}, setup: {} };
  const admin = new pg.Client({ connectionString: `${PG_BASE}/postgres` });
  await admin.connect();
  const pgVersion = (await admin.query('SHOW server_version')).rows[0].server_version;
  await admin.query(`CREATE DATABASE "${DB_NAME}"`);
  dbCreated = true;
  await admin.end();
  log(`database ${DB_NAME} created (PostgreSQL ${pgVersion}); ${DURATION} s per run, ${CONNECTIONS} connections`);
  results.machine = machine(pgVersion);

  // App A: cache on. TTL raised to 30 min so that the 1,000 warmed tokens stay cached for the whole run.
  const A = await startApp('A', { KEYWARD_AUTH_CACHE_TTL: '30m' });
  await sleep(1000);
  results.setup.rssIdleFreshMiB = round(A.rss(), 1);
  const db = new pg.Client({ connectionString: DATABASE_URL });
  await db.connect();

  // Setup: an empty project, a global write caller (a database token, cached after its first use) and
  // 1,000 read tokens created over HTTP (4 in flight: argon2-bound, also a first creation figure).
  const project = await api(A, 'POST', '/v1/projects', { name: 'bench-empty' });
  const caller = (await api(A, 'POST', '/api-token/create', { access: 'write', description: 'bench caller' })).token;
  let started = Date.now();
  const tokens = await pool(
    TOKENS,
    4,
    async () => (await api(A, 'POST', '/api-token/create', { access: 'read' })).token,
  );
  results.setup.create1000 = { seconds: round((Date.now() - started) / 1000, 1), concurrency: 4 };
  results.setup.create1000.perSec = round(TOKENS / results.setup.create1000.seconds, 1);
  log(`created ${TOKENS} tokens in ${results.setup.create1000.seconds} s (${results.setup.create1000.perSec}/s)`);
  const auth = { authorization: `Bearer ${caller}`, 'content-type': 'application/json' };
  const adminAuth = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
  const verifyBodies = tokens.map((t) => JSON.stringify({ token: t }));
  await api(A, 'POST', '/v1/tokens/verify', { token: caller }, caller); // caller now cached
  results.setup.rssIdleAfterSetupMiB = round(A.rss(), 1);

  // #1 authenticated requests with a cached token.
  if (want(1)) {
    const b1 = await bare(A);
    const verifySelf = await load(A, '#1a verify (cached caller, cached subject)', {
      path: '/v1/tokens/verify',
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ token: caller }),
    });
    const b2 = await bare(A);
    const list = await load(A, '#1b list empty project (cached caller, 2 DB queries)', {
      path: `/v1/projects/${project.id}/tokens`,
      headers: { authorization: `Bearer ${caller}` },
    });
    results.scenarios[1] = {
      runs: [b1, verifySelf, b2, list],
      pairs: [
        [b1, verifySelf],
        [b2, list],
      ],
    };
  }

  // #2 1,000 distinct valid tokens round-robin, cache warm.
  if (want(2) || want(5)) {
    started = Date.now();
    await pool(TOKENS, 4, (i) => api(A, 'POST', '/v1/tokens/verify', { token: tokens[i] }, caller));
    results.setup.warm1000S = round((Date.now() - started) / 1000, 1);
    log(`cache warmed with ${TOKENS} tokens in ${results.setup.warm1000S} s`);
  }
  if (want(2)) {
    const b = await bare(A);
    const r = await load(A, `#2 verify ${TOKENS} tokens round-robin (cache warm)`, {
      path: '/v1/tokens/verify',
      method: 'POST',
      headers: auth,
      requests: roundRobin(verifyBodies),
    });
    results.scenarios[2] = { runs: [b, r], pairs: [[b, r]] };
  }

  // #4 garbage at full speed: in the verify body (200 NOT_FOUND) and as the credential itself (401).
  if (want(4)) {
    const garbage = Array.from({ length: 1000 }, garbageToken);
    const b1 = await bare(A);
    const body = await load(A, '#4a verify garbage tokens (body)', {
      path: '/v1/tokens/verify',
      method: 'POST',
      headers: auth,
      requests: roundRobin(garbage.map((t) => JSON.stringify({ token: t }))),
    });
    const b2 = await bare(A);
    let i = 0;
    const header = await load(A, '#4b garbage bearer token (401)', {
      path: `/v1/projects/${project.id}/tokens`,
      requests: [{ setupRequest: (req) => ({ ...req, headers: { authorization: `Bearer ${garbage[i++ % 1000]}` } }) }],
    });
    results.scenarios[4] = {
      runs: [b1, body, b2, header],
      pairs: [
        [b1, body],
        [b2, header],
      ],
    };
  }

  // #3 cold verification: app B with the cache off; the caller is the admin token (HMAC, no argon2),
  // so each request costs exactly one argon2 verify of the presented token.
  const B = want(3) || want(5) ? await startApp('B', { KEYWARD_AUTH_CACHE_TTL: '0' }) : null;
  if (want(3)) {
    const limit = await argon2Limit('verify', Math.min(DURATION, 5));
    const b = await bare(B);
    const r = await load(B, '#3 cold verify (cache off)', {
      path: '/v1/tokens/verify',
      method: 'POST',
      headers: adminAuth,
      requests: roundRobin(verifyBodies),
    });
    results.scenarios[3] = { runs: [b, r], pairs: [[b, r]], argon2VerifyLimitPerSec: limit };
  }

  // #5 scale: 1k, 100k, 1M stored rows (filler rows inserted with SQL, all already expired so that #6
  // can clean exactly 1M of them; expiry does not change the unique-index lookup verify does).
  if (want(5) || want(6)) {
    const hash = (await db.query('SELECT secret_hash FROM api_tokens WHERE secret_hash IS NOT NULL LIMIT 1')).rows[0]
      .secret_hash;
    let filled = 0;
    const fill = async (upTo) => {
      if (upTo <= filled) return;
      const t = Date.now();
      await db.query(
        `INSERT INTO api_tokens (id, lookup_id, secret_hash, stub, kind, access, permissions, created_at, expires_at)
         SELECT md5('bench-fill-id-' || i)::uuid, substr(md5('bench-fill-lookup-' || i), 1, 16), $1, 'kw_fill00…',
                'global', 'read', '{read:*}', now() - interval '2 days', now() - interval '1 day'
           FROM generate_series($2::int, $3::int) AS i`,
        [hash, filled + 1, upTo],
      );
      await db.query('ANALYZE api_tokens');
      log(`inserted filler rows ${filled + 1}..${upTo} in ${round((Date.now() - t) / 1000, 1)} s`);
      results.setup[`fill${upTo}S`] = round((Date.now() - t) / 1000, 1);
      filled = upTo;
    };
    const scale = [];
    if (want(5)) {
      const liveRows = Number((await db.query('SELECT count(*) FROM api_tokens')).rows[0].count);
      const unknown = Array.from({ length: 1000 }, () => JSON.stringify({ token: unknownToken() }));
      for (const level of SCALE_LEVELS) {
        const target = level === SCALE_LEVELS.at(-1) ? CLEANUP_ROWS : level - liveRows;
        await fill(target);
        const stored = Number((await db.query('SELECT count(*) FROM api_tokens')).rows[0].count);
        const cold = await load(B, `#5 ${stored} rows: cold verify (cache off, 2 conns)`, {
          path: '/v1/tokens/verify',
          method: 'POST',
          headers: adminAuth,
          connections: 2,
          requests: roundRobin(verifyBodies),
        });
        const lookup = await load(B, `#5 ${stored} rows: unknown well-formed token (DB lookup only)`, {
          path: '/v1/tokens/verify',
          method: 'POST',
          headers: adminAuth,
          requests: roundRobin(unknown),
        });
        const cached = await load(A, `#5 ${stored} rows: cached verify`, {
          path: '/v1/tokens/verify',
          method: 'POST',
          headers: auth,
          requests: roundRobin(verifyBodies),
        });
        scale.push({ level, stored, cold, lookup, cached });
      }
      results.scenarios[5] = { levels: scale };
    }
    await fill(CLEANUP_ROWS);
  }

  // #7 creation throughput (argon2-bound) and RSS.
  if (want(7)) {
    const limit = await argon2Limit('hash', Math.min(DURATION, 5));
    await sleep(1000);
    const rssIdle = round(A.rss(), 1);
    const r = await load(A, '#7 create tokens (4 conns)', {
      path: '/api-token/create',
      method: 'POST',
      headers: adminAuth,
      connections: 4,
      body: JSON.stringify({ access: 'read', description: 'bench create' }),
    });
    results.scenarios[7] = {
      runs: [r],
      argon2HashLimitPerSec: limit,
      rss: {
        idleFresh: results.setup.rssIdleFreshMiB,
        idleAfterSetup: results.setup.rssIdleAfterSetupMiB,
        idleBeforeCreate: rssIdle,
        underCachedVerifyLoad: results.scenarios[2]?.runs[1].appRssMaxMiB ?? null,
        underCreateLoad: r.appRssMaxMiB,
        coldVerifyLoad: results.scenarios[3]?.runs[1].appRssMaxMiB ?? null,
      },
    };
  }
  await A.stop();
  await B?.stop();

  // #6 cleanup of 1M expired rows by app C, under verify load on C itself.
  if (want(6)) {
    const expired = Number(
      (await db.query('SELECT count(*) FROM api_tokens WHERE expires_at <= now() AND revoked_at IS NULL')).rows[0]
        .count,
    );
    const C = await startApp('C', {
      KEYWARD_AUTH_CACHE_TTL: '30m',
      KEYWARD_CLEANUP_INTERVAL: '10s',
      KEYWARD_CLEANUP_BATCH_SIZE: '10000',
    });
    const subset = verifyBodies.slice(0, 100);
    await api(C, 'POST', '/v1/tokens/verify', { token: caller }, caller);
    await pool(subset.length, 4, (i) => api(C, 'POST', '/v1/tokens/verify', JSON.parse(subset[i]), caller));
    const unknown = Array.from({ length: 1000 }, () => JSON.stringify({ token: unknownToken() }));
    const lockHeld = async () =>
      Number(
        (
          await db.query(
            `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid = $1::bigint::oid`,
            [CLEANUP_LOCK_KEY],
          )
        ).rows[0].count,
      ) > 0;
    const waitUntil = Date.now() + 60_000;
    while (!(await lockHeld())) {
      if (Date.now() > waitUntil) throw new Error('cleanup pass did not start within 60 s');
      await sleep(20);
    }
    const passStart = Date.now();
    log(`cleanup pass started (${expired} expired rows); verify load on C until it ends`);
    const c1 = {};
    const c2 = {};
    const during = Promise.all([
      load(
        C,
        '#6 cached verify during cleanup',
        {
          path: '/v1/tokens/verify',
          method: 'POST',
          headers: auth,
          duration: 600,
          requests: roundRobin(subset),
        },
        c1,
      ),
      load(
        C,
        '#6 DB-lookup verify during cleanup (8 conns)',
        {
          path: '/v1/tokens/verify',
          method: 'POST',
          headers: adminAuth,
          connections: 8,
          duration: 600,
          requests: roundRobin(unknown),
        },
        c2,
      ),
    ]);
    const passDeadline = Date.now() + 300_000;
    while (await lockHeld()) {
      if (Date.now() > passDeadline) break;
      await sleep(20);
    }
    const passMs = Date.now() - passStart;
    c1.stop?.();
    c2.stop?.();
    const [cachedDuring, lookupDuring] = await during;
    const left = Number((await db.query('SELECT count(*) FROM api_tokens WHERE expires_at <= now()')).rows[0].count);
    log(`cleanup pass: ~${passMs} ms, ${expired - left} rows removed, ${left} expired left`);
    const cachedAfter = await load(C, '#6 cached verify after cleanup (baseline)', {
      path: '/v1/tokens/verify',
      method: 'POST',
      headers: auth,
      requests: roundRobin(subset),
    });
    results.scenarios[6] = {
      expiredBefore: expired,
      expiredLeft: left,
      passMs,
      cachedDuring,
      lookupDuring,
      cachedAfter,
    };
    await C.stop();
  }
  await db.end();
  results.totalS = round((Date.now() - t0) / 1000, 0);
  return results;
}

// ---------------------------------------------------------------------------------------------- report
function machine(pgVersion) {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  return {
    cpu: /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model,
    cores: os.cpus().length,
    ramGiB: round(os.totalmem() / 2 ** 30, 1),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    postgres: pgVersion,
  };
}

function command() {
  const env = process.env.BENCH_DURATION ? `BENCH_DURATION=${process.env.BENCH_DURATION} ` : '';
  const viaNpm = process.env.npm_lifecycle_event === 'bench';
  const args = ARGS.length ? (viaNpm ? ' -- ' : ' ') + ARGS.join(' ') : '';
  return `${env}${viaNpm ? 'npm run bench' : 'node bench/run.js'}${args}`;
}

const ms = (v) => (v == null ? '–' : `${round(v, 2)}`);
function runRow(r, b) {
  const ratio = b ? round(r.reqPerSec / b.reqPerSec, 2) : null;
  return `| ${r.label} | ${r.connections} | ${r.reqPerSec} | ${ms(r.p50)} | ${ms(r.p99)} | ${ms(r.max)} | ${r.errors + r.timeouts} / ${r.non2xx} | ${ratio ?? '–'} | ${r.appCpuCores} | ${r.argon2Verify} |`;
}
const RUN_HEAD =
  '| run | conns | req/s | p50 ms | p99 ms | max ms | errors / non-2xx | ratio vs bare | app CPU (cores) | argon2 verify calls |\n|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|';

function report(results, json) {
  const s = results.scenarios;
  const m = results.machine;
  const lines = [];
  const summary = [];
  const push = (...l) => lines.push(...l);
  push(
    '# Keyward benchmark results',
    '',
    `Generated by \`bench/run.js\` on ${results.date}. Command: \`${results.command}\` (${results.durationS} s per run, ` +
      `${CONNECTIONS} connections unless stated; whole run ${results.totalS} s). Raw numbers: \`${json}\` (not committed).`,
    '',
    `**Machine:** ${m.cpu}, ${m.cores} cores, ${m.ramGiB} GiB RAM, ${m.kernel}; Node ${m.node}; PostgreSQL ${m.postgres} ` +
      '(local, default configuration). autocannon 8 runs **in the same machine, on the same 2 cores** as the app and ' +
      'PostgreSQL, over loopback: every figure is capped by that sharing (a load generator on its own machine would ' +
      'leave the app more CPU). The app runs as `node dist/main.js` with `LOG_LEVEL=warn`, `HOST=127.0.0.1`, ' +
      '`NODE_ENV=production`, cleanup job off except in #6, argon2id at the defaults (19 MiB, t=2, p=1).',
    '',
    'Every scenario run is preceded by a run of the bare `@Public()` endpoint `GET /api/v1/public/ping` of the same ' +
      'app process; "ratio vs bare" divides the two. "app CPU" is the app process\'s CPU time over the run divided by ' +
      'wall time (2.0 = both cores). "argon2 verify calls" is counted inside the app by a bench-only preload ' +
      "(`bench/argon2-counter.cjs`, wraps the `argon2` module's `verify`/`hash`; no change to `src/`).",
    '',
  );

  if (s[1]) {
    const [[b1, v], [b2, l]] = s[1].pairs;
    const ok = (r, b) => r.reqPerSec / b.reqPerSec >= 0.8 && r.p99 < 5 && r.errors + r.non2xx === 0;
    push(
      '## 1. Authenticated request with a cached token',
      '',
      RUN_HEAD,
      runRow(b1),
      runRow(v, b1),
      runRow(b2),
      runRow(l, b2),
      '',
    );
    push(
      "`#1a`: `POST /v1/tokens/verify` of the caller's own token (caller and subject both served from the cache: no " +
        'I/O at all). `#1b`: `GET /v1/projects/{id}/tokens` of an empty project (auth from the cache, then two ' +
        'PostgreSQL queries through Prisma: the project check and the list).',
      '',
    );
    summary.push([
      '1a cached verify (self)',
      '≥ 0.8 × bare, p99 < 5 ms',
      `${round(v.reqPerSec / b1.reqPerSec)} × bare, p99 ${v.p99} ms`,
      verdict(ok(v, b1)),
    ]);
    summary.push([
      '1b cached auth + list (2 queries)',
      '≥ 0.8 × bare, p99 < 5 ms',
      `${round(l.reqPerSec / b2.reqPerSec)} × bare, p99 ${l.p99} ms`,
      verdict(ok(l, b2)),
    ]);
  }
  if (s[2]) {
    const [[b, r]] = s[2].pairs;
    const ok = r.reqPerSec / b.reqPerSec >= 0.8 && r.p99 < 5 && r.errors + r.non2xx === 0;
    push(
      `## 2. Verify, ${TOKENS} distinct valid tokens round-robin, cache warm`,
      '',
      RUN_HEAD,
      runRow(b),
      runRow(r, b),
      '',
    );
    push(
      `Cache warmed first by verifying each token once (${results.setup.warm1000S} s: ${TOKENS} argon2 verifies). ` +
        'App A runs with `KEYWARD_AUTH_CACHE_TTL=30m` so the warm cache survives the whole run; with the default 30 s ' +
        `each token costs one argon2 verify (≈ 26 ms CPU) per 30 s, i.e. ${TOKENS} active tokens ≈ 0.9 core-seconds per ` +
        'second spent re-verifying.',
      '',
    );
    summary.push([
      '2 verify 1k tokens, warm',
      '≥ 0.8 × bare, p99 < 5 ms',
      `${round(r.reqPerSec / b.reqPerSec)} × bare, p99 ${r.p99} ms`,
      verdict(ok),
    ]);
  }
  if (s[3]) {
    const [[b, r]] = s[3].pairs;
    const share = r.reqPerSec / s[3].argon2VerifyLimitPerSec;
    const ok = share >= 0.8 && r.errors + r.timeouts + r.non2xx === 0;
    push('## 3. Cold verification (cache off)', '', RUN_HEAD, runRow(b), runRow(r, b), '');
    push(
      `App B: \`KEYWARD_AUTH_CACHE_TTL=0\`; the caller is the admin token (HMAC, no argon2), the ${TOKENS} tokens ` +
        `round-robin, so every request is one indexed lookup plus one argon2id verify. argon2 limit measured in the bench ` +
        `process just before (2 parallel verifies, same parameters, app idle): **${s[3].argon2VerifyLimitPerSec}/s**. ` +
        `Cold throughput = **${round(share * 100, 0)} %** of that limit, app CPU ${r.appCpuCores} cores; ` +
        `argon2 calls counted in the app: ${r.argon2Verify} for ${r.total} requests. ` +
        'Latency at 50 connections is queueing (50 requests share ~2 hashing cores).',
      '',
    );
    summary.push([
      '3 cold verify (cache off)',
      '≈ argon2 limit, no errors',
      `${r.reqPerSec}/s = ${round(share * 100, 0)} % of ${s[3].argon2VerifyLimitPerSec}/s, errors ${r.errors + r.timeouts}, non-2xx ${r.non2xx}`,
      verdict(ok),
    ]);
  }
  if (s[4]) {
    const [[b1, g], [b2, h]] = s[4].pairs;
    const ok = g.reqPerSec / b1.reqPerSec >= 0.8 && g.argon2Verify === 0 && g.errors === 0 && g.non2xx === 0;
    const okH = h.reqPerSec / b2.reqPerSec >= 0.8 && h.argon2Verify === 0 && h.errors === 0;
    push('## 4. Garbage tokens at full speed', '', RUN_HEAD, runRow(b1), runRow(g, b1), runRow(b2), runRow(h, b2), '');
    push(
      '1,000 random strings of the token shape (`kw_` + 65 base62) with a wrong checksum. `#4a`: in the verify body ' +
        '(cached caller; 200 `NOT_FOUND` expected). `#4b`: as the bearer credential of an authenticated route (401 ' +
        'expected: all non-2xx by design). "No argon2 call" is shown directly by the in-app counter (0 calls), and by ' +
        `the CPU per request (${g.appCpuUsPerReq} µs vs ${b1.appCpuUsPerReq} µs for the bare ping; one argon2 verify ` +
        'costs ≈ 26,000 µs).',
      '',
    );
    summary.push([
      '4a garbage in verify body',
      '≥ 0.8 × bare, 0 argon2 calls',
      `${round(g.reqPerSec / b1.reqPerSec)} × bare, ${g.argon2Verify} argon2 calls, p99 ${g.p99} ms`,
      verdict(ok),
    ]);
    summary.push([
      '4b garbage bearer (401)',
      '≥ 0.8 × bare, 0 argon2 calls',
      `${round(h.reqPerSec / b2.reqPerSec)} × bare, ${h.argon2Verify} argon2 calls, p99 ${h.p99} ms`,
      verdict(okH),
    ]);
  }
  if (s[5]) {
    const L = s[5].levels;
    push(
      '## 5. Scale: verify latency with 1k, 100k and 1M rows stored',
      '',
      '| rows stored | cold verify p50 / p99 ms (2 conns, cache off) | cold req/s | DB-lookup-only p50 / p99 ms (50 conns) | DB-lookup req/s | cached p50 / p99 ms (50 conns) | cached req/s |',
      '|--:|--:|--:|--:|--:|--:|--:|',
      ...L.map(
        (l) =>
          `| ${l.stored} | ${ms(l.cold.p50)} / ${ms(l.cold.p99)} | ${l.cold.reqPerSec} | ${ms(l.lookup.p50)} / ${ms(l.lookup.p99)} | ${l.lookup.reqPerSec} | ${ms(l.cached.p50)} / ${ms(l.cached.p99)} | ${l.cached.reqPerSec} |`,
      ),
      '',
    );
    const dev = (get) => Math.max(...L.map((l) => Math.abs(get(l) / get(L[0]) - 1)));
    const coldDev = Math.max(
      dev((l) => l.cold.p50),
      dev((l) => l.cold.p99),
    );
    const lookupDev50 = dev((l) => l.lookup.p50);
    const lookupDev99 = dev((l) => l.lookup.p99);
    push(
      'Filler rows are inserted with one `INSERT … SELECT FROM generate_series` each (unique pseudo-random ' +
        '`lookup_id`s, one shared argon2 hash, `kind` global, `access` read, already expired so that #6 can remove ' +
        'exactly 1M of them), then `ANALYZE`; insert times: ' +
        Object.entries(results.setup)
          .filter(([k]) => k.startsWith('fill'))
          .map(([k, v]) => `${k.slice(4, -1)} rows ${v} s`)
          .join(', ') +
        '. Verify looks tokens up by the unique `lookup_id` index, which expiry does not affect. "Cold verify": the ' +
        `${TOKENS} real tokens on app B (cache off), 2 connections (one argon2 per core, so latency ≈ one hash + one ` +
        'lookup, not queueing). "DB-lookup only": well-formed tokens with a valid checksum and an unknown lookup id ' +
        '(one index lookup, no argon2), which isolates the part that depends on the table size. "Cached": app A.',
      '',
      `Largest deviation from the 1k level: cold verify p50/p99 ${round(coldDev * 100, 0)} %, DB-lookup p50 ` +
        `${round(lookupDev50 * 100, 0)} %, DB-lookup p99 ${round(lookupDev99 * 100, 0)} %.`,
      '',
    );
    summary.push([
      '5 scale 1k → 1M (cold verify p50/p99)',
      'flat within 20 %',
      `max deviation ${round(coldDev * 100, 0)} % (DB-lookup-only p50 ${round(lookupDev50 * 100, 0)} %, p99 ${round(lookupDev99 * 100, 0)} %)`,
      verdict(coldDev <= 0.2),
    ]);
  }
  if (s[6]) {
    const c = s[6];
    push(
      '## 6. Cleanup of 1M expired tokens',
      '',
      `App C: \`KEYWARD_CLEANUP_INTERVAL=10s\`, \`KEYWARD_CLEANUP_BATCH_SIZE=10000\`, cache on. Expired rows before: ` +
        `${c.expiredBefore}; left after: ${c.expiredLeft}. **Pass time: ${round(c.passMs / 1000, 1)} s** (while the ` +
        'cleanup advisory lock was held, polled every 20 ms in `pg_locks`). Load on C itself from the moment the lock was ' +
        'taken until it was released:',
      '',
      RUN_HEAD,
      runRow(c.cachedDuring),
      runRow(c.lookupDuring),
      runRow(c.cachedAfter),
      '',
    );
    const ok = c.cachedDuring.max < 100 && c.lookupDuring.max < 100 && c.expiredLeft === 0;
    summary.push([
      '6 cleanup 1M expired',
      'verify: no stall over 100 ms',
      `pass ${round(c.passMs / 1000, 1)} s; cached verify p99 ${c.cachedDuring.p99} / max ${c.cachedDuring.max} ms; DB-lookup verify p99 ${c.lookupDuring.p99} / max ${c.lookupDuring.max} ms`,
      verdict(ok),
    ]);
  }
  if (s[7]) {
    const [r] = s[7].runs;
    const q = s[7].rss;
    push(
      '## 7. Token creation and memory',
      '',
      RUN_HEAD,
      runRow(r),
      '',
      `\`POST /api-token/create\` as the admin (HMAC auth, so one argon2 hash per request). argon2 hash limit in the ` +
        `bench process (2 parallel, same parameters): ${s[7].argon2HashLimitPerSec}/s, so creation runs at ` +
        `${round((r.reqPerSec / s[7].argon2HashLimitPerSec) * 100, 0)} % of it. Setup created ${TOKENS} tokens over ` +
        `HTTP (4 in flight) at ${results.setup.create1000.perSec}/s.`,
      '',
      '| app RSS (MiB) | |',
      '|---|--:|',
      `| idle, fresh start | ${q.idleFresh} |`,
      `| idle, after setup (${TOKENS} tokens created) | ${q.idleAfterSetup} |`,
      `| idle, ${TOKENS} tokens cached, before #7 | ${q.idleBeforeCreate} |`,
      `| peak under cached verify load (#2) | ${q.underCachedVerifyLoad ?? '–'} |`,
      `| peak under cold verify load (#3, app B) | ${q.coldVerifyLoad ?? '–'} |`,
      `| peak under creation load (#7) | ${q.underCreateLoad} |`,
      '',
    );
    summary.push([
      '7 creation',
      'argon2-bound, 0 non-2xx',
      `${r.reqPerSec}/s (${round((r.reqPerSec / s[7].argon2HashLimitPerSec) * 100, 0)} % of argon2 hash limit), non-2xx ${r.non2xx}, RSS idle ${q.idleFresh} → peak ${q.underCreateLoad} MiB`,
      verdict(r.non2xx + r.errors === 0 && r.reqPerSec / s[7].argon2HashLimitPerSec >= 0.8),
    ]);
  }
  const head = [
    '## Summary',
    '',
    '| scenario | target | measured | |',
    '|---|---|---|---|',
    ...summary.map((row) => `| ${row.join(' | ')} |`),
    '',
  ];
  const notes = results.notes ? ['## Notes', '', results.notes, ''] : [];
  const at = lines.findIndex((l) => l.startsWith('## '));
  lines.splice(at, 0, ...head, ...notes);
  return lines.join('\n');
}

function notes() {
  try {
    return readFileSync(path.join(ROOT, 'bench/NOTES.md'), 'utf8').trim();
  } catch {
    return null; // no hand-written notes
  }
}

// `node bench/run.js --report=bench/results/X.json`: re-renders bench/RESULTS.md from a saved run
// (e.g. after editing bench/NOTES.md), without benchmarking anything.
const REPORT_ONLY = ARGS.find((a) => a.startsWith('--report='))?.slice(9);
if (REPORT_ONLY) {
  const results = JSON.parse(readFileSync(path.resolve(REPORT_ONLY), 'utf8'));
  results.notes = notes();
  writeFileSync(path.join(ROOT, 'bench/RESULTS.md'), report(results, path.relative(ROOT, path.resolve(REPORT_ONLY))));
  rmSync(TMP, { recursive: true, force: true });
  console.log('bench/RESULTS.md re-rendered from', REPORT_ONLY);
} else {
  runAll();
}

function runAll() {
  main()
    .then(async (results) => {
      results.date = new Date().toISOString();
      results.command = command();
      results.durationS = DURATION;
      mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
      const json = `bench/results/${results.date.replace(/[:.]/g, '-')}.json`;
      writeFileSync(path.join(ROOT, json), JSON.stringify(results, null, 2));
      results.notes = notes();
      if (ONLY.length === 0) writeFileSync(path.join(ROOT, 'bench/RESULTS.md'), report(results, json));
      else writeFileSync(path.join(TMP, '..', `keyward-bench-partial.md`), report(results, json));
      log(
        `done in ${results.totalS} s: ${json}${ONLY.length ? ' (partial run: RESULTS.md untouched)' : ', bench/RESULTS.md'}`,
      );
      await teardown();
    })
    .catch(async (err) => {
      console.error('bench failed:', err);
      await teardown();
      process.exit(1);
    });
}
