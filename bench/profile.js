#!/usr/bin/env node
// CPU profiles of the app under the gateway loads of #8 (after `npm run build`):
//
//   node bench/profile.js [ping,forwardAuth,throttled,garbage,rateLimited,credits]   BENCH_DURATION=8
//
// One app (bench/cpu-profile.cjs preloaded), one profile per load, each summarised as the app's self time
// by function and by where the code lives (Keyward's dist/, Nest, Fastify, Node core, …). The profiles
// stay in a temporary directory whose path is printed.
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { api, PING, pool, startApp } from './lib/app.js';
import { apps, ARGS, createDatabase, DURATION, log, ROOT, sleep, teardown, TOKENS } from './lib/context.js';
import { load, roundRobinBearer } from './lib/load.js';
import { garbageToken, unknownToken } from './lib/tokens.js';

const CHECK = '/v1/auth/check?permission=read:token';
const INCLUSIVE = Number(process.env.BENCH_PROFILE_INCLUSIVE ?? 60);
const wanted = (ARGS.find((a) => !a.startsWith('--')) ?? 'ping,forwardAuth,rateLimited,credits,garbage,throttled')
  .split(',')
  .filter(Boolean);

function where(url) {
  if (!url) return '(V8, GC, native)';
  if (url.includes('/dist/')) return 'keyward dist/';
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1].startsWith('@nestjs') ? '@nestjs' : m[1];
  if (url.startsWith('node:')) return 'node core';
  return url;
}

function summarise(file, label) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const self = new Map(profile.nodes.map((n) => [n.id, 0]));
  for (let i = 0; i < profile.samples.length; i++) {
    self.set(profile.samples[i], self.get(profile.samples[i]) + (profile.timeDeltas[i] ?? 0));
  }
  const byFn = new Map();
  const byWhere = new Map();
  let busy = 0;
  for (const n of profile.nodes) {
    const us = self.get(n.id);
    const f = n.callFrame;
    if (f.functionName === '(idle)' || f.functionName === '(program)') continue;
    busy += us;
    const fn = `${f.functionName || '(anonymous)'} ${f.url ? path.basename(f.url) : ''}:${f.lineNumber + 1}`;
    byFn.set(fn, (byFn.get(fn) ?? 0) + us);
    const w = f.functionName === '(garbage collector)' ? '(GC)' : where(f.url);
    byWhere.set(w, (byWhere.get(w) ?? 0) + us);
  }
  const pct = (us) => `${((us / busy) * 100).toFixed(1)} %`;
  // Inclusive time of named functions (each counted once per stack, also when it recurses).
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const incl = new Map();
  for (const n of profile.nodes) {
    const us = self.get(n.id);
    if (!us || n.callFrame.functionName === '(idle)' || n.callFrame.functionName === '(program)') continue;
    const seen = new Set();
    for (let id = n.id; id !== undefined; id = parent.get(id)) {
      const f = byId.get(id).callFrame;
      const name = `${f.functionName || '(anonymous)'} ${f.url ? path.basename(f.url) : ''}:${f.lineNumber + 1}`;
      if (seen.has(name)) continue;
      seen.add(name);
      incl.set(name, (incl.get(name) ?? 0) + us);
    }
  }
  console.log(`\n== ${label}: busy ${(busy / 1000).toFixed(0)} ms`);
  for (const [w, us] of [...byWhere].sort((a, b) => b[1] - a[1]).slice(0, 12))
    console.log(`  ${pct(us).padStart(7)}  ${w}`);
  console.log('  -- top functions (self time)');
  for (const [fn, us] of [...byFn].sort((a, b) => b[1] - a[1]).slice(0, 30))
    console.log(`  ${pct(us).padStart(7)}  ${fn}`);
  console.log('  -- top functions (inclusive time)');
  for (const [fn, us] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, INCLUSIVE))
    console.log(`  ${pct(us).padStart(7)}  ${fn}`);
}

async function limited(A, n, fields) {
  const tokens = await pool(
    n,
    4,
    async () => (await api(A, 'POST', '/api-token/create', { access: 'read', ...fields })).token,
  );
  for (const t of tokens) await fetch(A.url + CHECK, { headers: { authorization: `Bearer ${t}` } });
  return tokens;
}

async function main() {
  await createDatabase();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'keyward-profile-'));
  const prefix = path.join(dir, 'app');
  const A = await startApp('P', { KEYWARD_AUTH_CACHE_TTL: '30m', BENCH_CPU_PROFILE: prefix }, [
    '--require',
    path.join(ROOT, 'bench/cpu-profile.cjs'),
  ]);
  const tokens = await pool(
    TOKENS,
    4,
    async () => (await api(A, 'POST', '/api-token/create', { access: 'read' })).token,
  );
  for (const t of tokens) await fetch(A.url + CHECK, { headers: { authorization: `Bearer ${t}` } });
  const loads = {
    ping: () => ({ path: PING }),
    forwardAuth: () => ({ path: CHECK, requests: roundRobinBearer(tokens) }),
    throttled: () => ({ path: CHECK, requests: roundRobinBearer(Array.from({ length: 1000 }, garbageToken)) }),
    garbage: () => ({ path: CHECK, requests: roundRobinBearer(Array.from({ length: 1000 }, unknownToken)) }),
    rateLimited: async () => ({
      path: CHECK,
      requests: roundRobinBearer(await limited(A, 20, { ratelimit: { limit: 1_000_000, duration: 3_600_000 } })),
    }),
    credits: async () => ({
      path: CHECK,
      requests: roundRobinBearer(await limited(A, 20, { remaining: 2_000_000_000 })),
    }),
  };
  let n = 0;
  for (const key of wanted) {
    const opts = await loads[key]();
    await sleep(500);
    process.kill(A.pid, 'SIGWINCH');
    const r = await load(A, `profile ${key}`, { ...opts, duration: DURATION });
    log(`status codes: ${JSON.stringify(r.statusCodes)}`);
    process.kill(A.pid, 'SIGWINCH');
    await sleep(1500);
    summarise(`${prefix}-${++n}.cpuprofile`, key);
  }
  log(`profiles in ${dir}`);
}

main()
  .then(teardown)
  .catch(async (err) => {
    console.error('profile failed:', err, [...apps].map((a) => a.tail.slice(-30).join('\n')).join('\n'));
    await teardown();
    process.exit(1);
  });
