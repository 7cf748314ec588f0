// #8 Gateway-speed figures: forward auth, cached verify, garbage bearer, a 5-token project list and cold
// verify, each as the median of alternated pairs (a baseline run, then the scenario run, repeated).
import { api } from '../lib/app.js';
import { ADMIN_TOKEN, PAIR_DURATION, PAIRS } from '../lib/context.js';
import { alternatedPairs, bare, load, roundRobin, roundRobinBearer } from '../lib/load.js';
import { argon2Limit, garbageToken } from '../lib/tokens.js';
import { TOKEN_ID_HEADER } from '../../dist/verification/token-verifier.js';

/** The goals, as ratios to the ping of the same process (cold verify: share of the argon2 limit). */
export const GOALS = {
  forwardAuth: { label: 'forward-auth GET, cached token', goal: 0.9, before: '—' },
  throttled: { label: 'forward-auth GET, garbage token, throttled (429)', goal: 0.8, before: '—' },
  verify: { label: 'POST verify, cached', goal: 0.5, before: '0.32–0.43' },
  garbage: { label: 'garbage bearer (401)', goal: 0.8, before: '0.43–0.56' },
  list: { label: 'project token list (5 tokens, database-bound)', goal: 0.15, before: '0.03' },
  cold: { label: 'cold verify (share of the argon2 limit)', goal: 0.9, before: '84 %' },
};

/** Waits until the app has no argon2 work running or queued (its /metrics says so), at most 30 s. */
async function untilIdle(app) {
  const until = Date.now() + 30_000;
  const busy = /^keyward_argon2_(in_flight|queue_depth) ([1-9]\d*)/m;
  while (Date.now() < until) {
    const text = await (
      await fetch(`${app.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
    ).text();
    if (!busy.test(text)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 500));
}

export async function run(ctx) {
  const { A, caller, auth, adminAuth, verifyBodies } = ctx;
  const B = await ctx.appB();
  // Creating a project clears the verification cache (tokens-file scopes by name): before warming it.
  const project = await api(A, 'POST', '/v1/projects', { name: 'bench-five' });
  for (let i = 0; i < 5; i++) {
    await api(A, 'POST', `/v1/projects/${project.id}/tokens`, { name: `t${i}`, permissions: ['read:token'] });
  }
  await api(A, 'POST', '/v1/tokens/verify', { token: caller }, caller); // the caller again, after the clear
  await ctx.warm(); // forward auth goes round-robin over the 1,000 cached tokens (not one token: no memo hit)
  // The forward-auth check must be a 200 with the identity headers before it is measured.
  const probe = await fetch(`${A.url}/v1/auth/check?permission=read:token`, {
    headers: { authorization: `Bearer ${caller}` },
  });
  if (probe.status !== 200 || !probe.headers.get(TOKEN_ID_HEADER)) throw new Error(`forward auth: ${probe.status}`);
  const garbage = Array.from({ length: 1000 }, garbageToken);
  const d = { duration: PAIR_DURATION };
  const ping = (app) => (label) => bare(app, label, d);
  const ratio = (run, base) => run.reqPerSec / base.reqPerSec;
  const result = await alternatedPairs(PAIRS, [
    {
      key: 'forwardAuth',
      baseline: ping(A),
      run: (label) =>
        load(A, `#8 ${label} forward auth GET (${ctx.tokens.length} cached tokens)`, {
          ...d,
          path: '/v1/auth/check?permission=read:token',
          requests: roundRobinBearer(ctx.tokens),
        }),
      ratio,
    },
    {
      key: 'throttled',
      baseline: ping(A),
      // Garbage from one address: past KEYWARD_THROTTLE_ADDRESS failures a window, 429 before any work.
      run: (label) =>
        load(A, `#8 ${label} forward auth GET, garbage (throttled)`, {
          ...d,
          path: '/v1/auth/check?permission=read:token',
          requests: roundRobinBearer(garbage),
        }),
      ratio,
    },
    {
      key: 'verify',
      baseline: ping(A),
      run: (label) =>
        load(A, `#8 ${label} POST verify (cached, self)`, {
          ...d,
          path: '/v1/tokens/verify',
          method: 'POST',
          headers: auth,
          body: JSON.stringify({ token: caller }),
        }),
      ratio,
    },
    {
      key: 'garbage',
      baseline: ping(A),
      run: (label) =>
        load(A, `#8 ${label} garbage bearer (401)`, {
          ...d,
          path: `/v1/projects/${project.id}/tokens`,
          requests: roundRobinBearer(garbage),
        }),
      ratio,
    },
    {
      key: 'list',
      baseline: ping(A),
      run: (label) =>
        load(A, `#8 ${label} list 5-token project`, {
          ...d,
          path: `/v1/projects/${project.id}/tokens`,
          headers: { authorization: `Bearer ${caller}` },
        }),
      ratio,
    },
    {
      key: 'cold',
      baseline: async () => ({ reqPerSec: await argon2Limit('verify', PAIR_DURATION) }),
      run: async (label) => {
        const result = await load(B, `#8 ${label} cold verify (cache off)`, {
          ...d,
          path: '/v1/tokens/verify',
          method: 'POST',
          headers: adminAuth,
          requests: roundRobin(verifyBodies),
        });
        // App B keeps working off queued argon2 verifies after the load stops; the next pair's baseline
        // (a ping of app A on the same cores) must not run while it does.
        await untilIdle(B);
        return result;
      },
      ratio,
    },
  ]);
  return { pairs: PAIRS, pairDurationS: PAIR_DURATION, ...result };
}
