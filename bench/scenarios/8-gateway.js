// #8 Gateway-speed figures: forward auth, cached verify, garbage bearer, a 5-token project list and cold
// verify, each as the median of alternated pairs (a baseline run, then the scenario run, repeated).
import { api, pool } from '../lib/app.js';
import { ADMIN_TOKEN, GATEWAY_KEYS, PAIR_DURATION, PAIRS } from '../lib/context.js';

const SAME_SHAPE = process.env.BENCH_SAME_SHAPE === '1';
import { alternatedPairs, bare, load, roundRobin, roundRobinBearer } from '../lib/load.js';
import { argon2Limit, garbageToken, unknownToken } from '../lib/tokens.js';
import { TOKEN_ID_HEADER } from '../../dist/verification/token-verifier.js';

/** The goals, as ratios to the ping of the same process (cold verify: share of the argon2 limit). */
export const GOALS = {
  forwardAuth: { label: 'forward-auth GET, cached token', goal: 0.9, before: '—' },
  throttled: { label: 'forward-auth GET, garbage token, throttled (429)', goal: 0.8, before: '—' },
  verify: { label: 'POST verify, cached', goal: 0.5, before: '0.32–0.43' },
  garbage: { label: 'forward-auth GET, unknown well-formed token (401/429)', goal: 0.8, before: '0.43–0.56' },
  rateLimited: { label: 'forward-auth GET, token with a rate limit (leased budgets)', goal: 0.5, before: '0.19–0.26' },
  credits: { label: 'forward-auth GET, token with usage credits (one write per pass)', goal: 0.15, before: '—' },
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

/** Tokens with usage limits for #8 (few: each creation is one argon2 hash). */
const LIMITED_TOKENS = 20;

/** Creates `n` read tokens with `fields` (a rate limit, usage credits) and passes each once through forward auth. */
async function limitedTokens(A, n, fields) {
  const tokens = await pool(
    n,
    4,
    async () => (await api(A, 'POST', '/api-token/create', { access: 'read', ...fields })).token,
  );
  for (const token of tokens) {
    const res = await fetch(`${A.url}/v1/auth/check?permission=read:token`, {
      headers: { authorization: `Bearer ${token}` },
    });
    if (res.status !== 200) throw new Error(`forward auth of a limited token: ${res.status}`);
  }
  return tokens;
}

export async function run(ctx) {
  const { A, caller, auth, adminAuth, verifyBodies } = ctx;
  const wanted = (key) => GATEWAY_KEYS.length === 0 || GATEWAY_KEYS.includes(key);
  const B = wanted('cold') ? await ctx.appB() : null;
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
  // Limits far above what a run passes: every request is a 200 that pays for its limit.
  const rateLimited = wanted('rateLimited')
    ? await limitedTokens(A, LIMITED_TOKENS, { ratelimit: { limit: 1_000_000, duration: 3_600_000 } })
    : [];
  const withCredits = wanted('credits') ? await limitedTokens(A, LIMITED_TOKENS, { remaining: 2_000_000_000 }) : [];
  const garbage = Array.from({ length: 1000 }, garbageToken);
  const unknown = Array.from({ length: 1000 }, unknownToken);
  const d = { duration: PAIR_DURATION };
  const ping = (app) => (label) => bare(app, label, d);
  // BENCH_SAME_SHAPE=1: the baseline ping carries the same rotating bearer header as its scenario (the
  // ping ignores it), so that both runs cost the load generator, on the same cores, the same per request.
  const pingLike = (app, tokens) =>
    SAME_SHAPE ? (label) => bare(app, label, { ...d, requests: roundRobinBearer(tokens) }) : ping(app);
  const ratio = (run, base) => run.reqPerSec / base.reqPerSec;
  // The app's first seconds under load are its JIT warm-up: not measured (a first baseline run cost the
  // app 1.5-2x the CPU per request of the later ones, which inflated the first pair's ratio).
  await bare(A, '#8 warm-up: ping', { duration: 3 });
  await load(A, '#8 warm-up: forward auth', {
    duration: 3,
    path: '/v1/auth/check?permission=read:token',
    requests: roundRobinBearer(ctx.tokens),
  });
  const all = [
    {
      key: 'forwardAuth',
      baseline: pingLike(A, ctx.tokens),
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
      baseline: pingLike(A, garbage),
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
      baseline: pingLike(A, unknown),
      // Well-formed tokens (valid checksum) that are not stored, from one address: the first failures
      // are negative-cached misses, then the address is throttled (429).
      run: (label) =>
        load(A, `#8 ${label} forward auth GET, unknown well-formed tokens (401/429)`, {
          ...d,
          path: '/v1/auth/check?permission=read:token',
          requests: roundRobinBearer(unknown),
        }),
      ratio,
    },
    {
      key: 'rateLimited',
      baseline: pingLike(A, rateLimited),
      run: (label) =>
        load(A, `#8 ${label} forward auth GET, ${LIMITED_TOKENS} rate-limited tokens`, {
          ...d,
          path: '/v1/auth/check?permission=read:token',
          requests: roundRobinBearer(rateLimited),
        }),
      ratio,
    },
    {
      key: 'credits',
      baseline: pingLike(A, withCredits),
      run: (label) =>
        load(A, `#8 ${label} forward auth GET, ${LIMITED_TOKENS} tokens with credits`, {
          ...d,
          path: '/v1/auth/check?permission=read:token',
          requests: roundRobinBearer(withCredits),
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
  ];
  const result = await alternatedPairs(
    PAIRS,
    all.filter((r) => wanted(r.key)),
  );
  return { pairs: PAIRS, pairDurationS: PAIR_DURATION, ...result };
}
