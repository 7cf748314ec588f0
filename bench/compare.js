#!/usr/bin/env node
// Loads of one app side by side, each run's req/s and app CPU per request (after `npm run build`):
//
//   node bench/compare.js [ping,verify,throttled,garbage,forwardAuth,pingBearer] [--rounds=N]   BENCH_DURATION=5
//
// Quicker than #8's alternated pairs when a change to one path is being tried: every load runs once per
// round on the same app, in the order given. `pingBearer` is the ping with the throttled load's rotating
// bearer header (what BENCH_SAME_SHAPE=1 does in #8).
import { api, PING, startApp } from './lib/app.js';
import { ARGS, createDatabase, DURATION, log, teardown } from './lib/context.js';
import { load, roundRobinBearer } from './lib/load.js';
import { garbageToken, unknownToken } from './lib/tokens.js';

const CHECK = '/v1/auth/check?permission=read:token';
const wanted = (ARGS.find((a) => !a.startsWith('--')) ?? 'ping,throttled,garbage,verify').split(',').filter(Boolean);
const rounds = Number(ARGS.find((a) => a.startsWith('--rounds='))?.slice(9) ?? 2);

async function main() {
  await createDatabase();
  const A = await startApp('A', { KEYWARD_AUTH_CACHE_TTL: '30m' });
  const caller = (await api(A, 'POST', '/api-token/create', { access: 'write', description: 'bench caller' })).token;
  await api(A, 'POST', '/v1/tokens/verify', { token: caller }, caller); // cached from here
  const garbage = Array.from({ length: 1000 }, garbageToken);
  const unknown = Array.from({ length: 1000 }, unknownToken);
  const loads = {
    ping: { path: PING },
    pingBearer: { path: PING, requests: roundRobinBearer(garbage) },
    forwardAuth: { path: CHECK, headers: { authorization: `Bearer ${caller}` } },
    throttled: { path: CHECK, requests: roundRobinBearer(garbage) },
    garbage: { path: CHECK, requests: roundRobinBearer(unknown) },
    verify: {
      path: '/v1/tokens/verify',
      method: 'POST',
      headers: { authorization: `Bearer ${caller}`, 'content-type': 'application/json' },
      body: JSON.stringify({ token: caller }),
    },
  };
  const unknownLoads = wanted.filter((k) => !loads[k]);
  if (unknownLoads.length) throw new Error(`unknown load(s): ${unknownLoads.join(', ')}`);
  // JIT warm-up, and the throttle's refusal of this address, before anything is measured.
  await load(A, 'warm-up: ping', { path: PING, duration: 3 });
  await load(A, 'warm-up: garbage', { path: CHECK, requests: roundRobinBearer(garbage), duration: 3 });
  const table = {};
  for (let round = 1; round <= rounds; round++) {
    for (const key of wanted) {
      const r = await load(A, `round ${round}: ${key}`, { ...loads[key], duration: DURATION });
      (table[key] ??= []).push(`${r.reqPerSec} req/s, ${r.appCpuUsPerReq} µs/req`);
    }
  }
  for (const [key, runs] of Object.entries(table)) log(`${key.padEnd(12)} ${runs.join(' | ')}`);
}

main()
  .then(teardown)
  .catch(async (err) => {
    console.error('compare failed:', err);
    await teardown();
    process.exit(1);
  });
