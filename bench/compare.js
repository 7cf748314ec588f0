#!/usr/bin/env node
// Loads of one app side by side, each run's req/s and app CPU per request (after `npm run build`):
//
//   node bench/compare.js [ping,verify,throttled,garbage,forwardAuth,forwardAuthMany,pingBearer] [--rounds=N]
//     [--against=DIR] [--rate=N]   BENCH_DURATION=5
//
// Quicker than #8's alternated pairs when a change to one path is being tried: every load runs once per
// round on the same app, in the order given; with `ping` among them, each load's ratio to the round's ping
// is printed too. `pingBearer` is the ping with the throttled load's rotating bearer header (what
// BENCH_SAME_SHAPE=1 does in #8). `--against=DIR`: a second app runs from another built checkout (e.g. a
// `git worktree` of an older commit, after `npm run build` there), idle while this one is measured and
// measured in turn each round, so that a change is compared with its parent on the same machine.
// `forwardAuthMany` goes round-robin over 200 cached tokens (as #8 does), `forwardAuth` sends one.
// `--rate=N`: N requests per second instead of as many as the app answers, so that the app's CPU per
// request is read without the load generator competing for the cores.
import { api, PING, pool, startApp } from './lib/app.js';
import { ARGS, createDatabase, DURATION, log, teardown } from './lib/context.js';
import { load, roundRobinBearer } from './lib/load.js';
import { garbageToken, unknownToken } from './lib/tokens.js';

const CHECK = '/v1/auth/check?permission=read:token';
const wanted = (ARGS.find((a) => !a.startsWith('--')) ?? 'ping,throttled,garbage,verify').split(',').filter(Boolean);
const rounds = Number(ARGS.find((a) => a.startsWith('--rounds='))?.slice(9) ?? 2);
const against = ARGS.find((a) => a.startsWith('--against='))?.slice(10);
const rate = Number(ARGS.find((a) => a.startsWith('--rate='))?.slice(7) ?? 0);

/** The loads of one app (its own cached caller token). */
async function loadsOf(A) {
  const caller = (await api(A, 'POST', '/api-token/create', { access: 'write', description: 'bench caller' })).token;
  await api(A, 'POST', '/v1/tokens/verify', { token: caller }, caller); // cached from here
  const garbage = Array.from({ length: 1000 }, garbageToken);
  const unknown = Array.from({ length: 1000 }, unknownToken);
  const many = wanted.includes('forwardAuthMany')
    ? await pool(200, 4, async () => (await api(A, 'POST', '/api-token/create', { access: 'read' })).token)
    : [];
  for (const token of many) await fetch(A.url + CHECK, { headers: { authorization: `Bearer ${token}` } }); // cached
  return {
    ping: { path: PING },
    pingBearer: { path: PING, requests: roundRobinBearer(garbage) },
    forwardAuth: { path: CHECK, headers: { authorization: `Bearer ${caller}` } },
    forwardAuthMany: { path: CHECK, requests: roundRobinBearer(many) },
    throttled: { path: CHECK, requests: roundRobinBearer(garbage) },
    garbage: { path: CHECK, requests: roundRobinBearer(unknown) },
    verify: {
      path: '/v1/tokens/verify',
      method: 'POST',
      headers: { authorization: `Bearer ${caller}`, 'content-type': 'application/json' },
      body: JSON.stringify({ token: caller }),
    },
  };
}

async function main() {
  await createDatabase();
  const apps = [await startApp('A', { KEYWARD_AUTH_CACHE_TTL: '30m' })];
  if (against) apps.push(await startApp('B', { KEYWARD_AUTH_CACHE_TTL: '30m' }, [], { cwd: against }));
  const loads = new Map();
  for (const app of apps) loads.set(app, await loadsOf(app));
  const unknownLoads = wanted.filter((k) => !loads.get(apps[0])[k]);
  if (unknownLoads.length) throw new Error(`unknown load(s): ${unknownLoads.join(', ')}`);
  // JIT warm-up, and the throttle's refusal of this address, before anything is measured.
  for (const app of apps) {
    await load(app, `${app.name} warm-up: ping`, { path: PING, duration: 3 });
    await load(app, `${app.name} warm-up: garbage`, { ...loads.get(app).throttled, duration: 3 });
  }
  const table = {};
  for (let round = 1; round <= rounds; round++) {
    for (const app of apps) {
      let ping;
      for (const key of wanted) {
        const r = await load(app, `${app.name} round ${round}: ${key}`, {
          ...loads.get(app)[key],
          duration: DURATION,
          ...(rate ? { overallRate: rate } : {}),
        });
        if (key === 'ping') ping = r;
        const ratio = ping && key !== 'ping' ? `, ${(r.reqPerSec / ping.reqPerSec).toFixed(3)} × ping` : '';
        (table[`${app.name} ${key}`] ??= []).push(`${r.reqPerSec} req/s, ${r.appCpuUsPerReq} µs/req${ratio}`);
      }
    }
  }
  for (const [key, runs] of Object.entries(table)) log(`${key.padEnd(14)} ${runs.join(' | ')}`);
}

main()
  .then(teardown)
  .catch(async (err) => {
    console.error('compare failed:', err);
    await teardown();
    process.exit(1);
  });
