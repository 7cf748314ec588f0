#!/usr/bin/env node
// Keyward benchmarks: `npm run bench` (= `npm run build && node bench/run.js`). See bench/README.md.
//
//   node bench/run.js [--quick] [--only=1,2,8]   BENCH_DURATION=10 BENCH_PAIR_DURATION=6 BENCH_PAIRS=5
//
// Creates a throwaway PostgreSQL database, starts the built app (`node dist/main.js`, lib/app.js) once
// per configuration, drives it with autocannon on loopback (lib/load.js, with the CPU each party used:
// lib/cpu.js), runs the scenarios (scenarios/<n>-*.js, one file each) and writes bench/results/<stamp>.json
// and bench/RESULTS.md (report.js). Everything it created is removed at the end, also on failure or Ctrl-C.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { api, pool, startApp } from './lib/app.js';
import {
  ADMIN_TOKEN,
  ARGS,
  CONNECTIONS,
  createDatabase,
  DATABASE_URL,
  DURATION,
  log,
  ONLY,
  ROOT,
  round,
  sleep,
  teardown,
  TMP,
  TOKENS,
  want,
} from './lib/context.js';
import { loadAverage } from './lib/cpu.js';
import { command, machine, notes, report } from './report.js';
import * as cached from './scenarios/1-cached.js';
import * as verify1k from './scenarios/2-verify-1k.js';
import * as cold from './scenarios/3-cold-verify.js';
import * as garbage from './scenarios/4-garbage.js';
import * as scale from './scenarios/5-scale.js';
import * as cleanup from './scenarios/6-cleanup.js';
import * as create from './scenarios/7-create.js';
import * as gateway from './scenarios/8-gateway.js';
import * as lists from './scenarios/9-lists.js';

const CLEANUP_ROWS = 1_000_000;

/** Shared setup: app A (cache on), a caller, an empty project, TOKENS read tokens; apps B and C on demand. */
async function setup(results) {
  // TTL raised to 30 min so that the 1,000 warmed tokens stay cached for the whole run.
  const A = await startApp('A', { KEYWARD_AUTH_CACHE_TTL: '30m' });
  await sleep(1000);
  results.setup.rssIdleFreshMiB = round(A.rss(), 1);
  const db = new pg.Client({ connectionString: DATABASE_URL });
  await db.connect();
  const emptyProject = await api(A, 'POST', '/v1/projects', { name: 'bench-empty' });
  const caller = (await api(A, 'POST', '/api-token/create', { access: 'write', description: 'bench caller' })).token;
  const started = Date.now();
  const tokens = await pool(
    TOKENS,
    4,
    async () => (await api(A, 'POST', '/api-token/create', { access: 'read' })).token,
  );
  results.setup.create1000 = { seconds: round((Date.now() - started) / 1000, 1), concurrency: 4 };
  results.setup.create1000.perSec = round(TOKENS / results.setup.create1000.seconds, 1);
  log(`created ${TOKENS} tokens in ${results.setup.create1000.seconds} s (${results.setup.create1000.perSec}/s)`);
  await api(A, 'POST', '/v1/tokens/verify', { token: caller }, caller); // caller now cached
  results.setup.rssIdleAfterSetupMiB = round(A.rss(), 1);

  let B = null;
  let warmed = false;
  let filled = 0;
  return {
    A,
    db,
    results,
    caller,
    tokens,
    emptyProject,
    CLEANUP_ROWS,
    auth: { authorization: `Bearer ${caller}`, 'content-type': 'application/json' },
    adminAuth: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    verifyBodies: tokens.map((t) => JSON.stringify({ token: t })),
    /** App B: cache off (cold verification). */
    async appB() {
      B ??= await startApp('B', { KEYWARD_AUTH_CACHE_TTL: '0' });
      return B;
    },
    async stopAppB() {
      await B?.stop();
      B = null;
    },
    /** Verifies every token once on A, so that A's cache holds them all. */
    async warm() {
      if (warmed) return;
      const t = Date.now();
      await pool(TOKENS, 4, (i) => api(A, 'POST', '/v1/tokens/verify', { token: tokens[i] }, caller));
      results.setup.warm1000S = round((Date.now() - t) / 1000, 1);
      log(`cache warmed with ${TOKENS} tokens in ${results.setup.warm1000S} s`);
      warmed = true;
    },
    /** Filler rows up to `upTo` (already expired, one shared argon2 hash), then ANALYZE. */
    async fill(upTo) {
      if (upTo <= filled) return;
      const hash = (await db.query('SELECT secret_hash FROM api_tokens LIMIT 1')).rows[0].secret_hash;
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
    },
  };
}

// The order matters: #8 and the cached scenarios run before #5 fills the table with 1M rows; #6 removes them.
// #9 runs on a database of its own, with no other app running.
const ORDER = [
  [8, gateway],
  [1, cached],
  [2, verify1k],
  [4, garbage],
  [3, cold],
  [5, scale],
  [7, create],
];

async function main() {
  const t0 = Date.now();
  const results = { scenarios: {}, setup: {}, loadBefore: loadAverage() };
  const pgVersion = await createDatabase();
  log(`database created (PostgreSQL ${pgVersion}); ${DURATION} s per run, ${CONNECTIONS} connections`);
  results.machine = machine(pgVersion);
  // The shared setup (app A, 1,000 tokens created through the API) only when a scenario uses it.
  if (ORDER.some(([n]) => want(n)) || want(6)) {
    const ctx = await setup(results);
    for (const [n, scenario] of ORDER) {
      if (want(n)) results.scenarios[n] = await scenario.run(ctx);
    }
    await ctx.A.stop();
    await ctx.stopAppB();
    if (want(9)) results.scenarios[9] = await lists.run();
    if (want(6)) results.scenarios[6] = await cleanup.run(ctx);
    await ctx.db.end();
  } else if (want(9)) {
    results.scenarios[9] = await lists.run();
  }
  results.totalS = round((Date.now() - t0) / 1000, 0);
  results.loadAfter = loadAverage();
  return results;
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
