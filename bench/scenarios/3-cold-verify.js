// #3 Cold verification: app B with the cache off; the caller is the admin token (HMAC, no argon2),
// so each request costs exactly one argon2 verify of the presented token.
import { DURATION } from '../lib/context.js';
import { bare, load, roundRobin } from '../lib/load.js';
import { argon2Limit } from '../lib/tokens.js';

export async function run(ctx) {
  const B = await ctx.appB();
  const limit = await argon2Limit('verify', Math.min(DURATION, 5));
  const b = await bare(B);
  const r = await load(B, '#3 cold verify (cache off)', {
    path: '/v1/tokens/verify',
    method: 'POST',
    headers: ctx.adminAuth,
    requests: roundRobin(ctx.verifyBodies),
  });
  return { runs: [b, r], pairs: [[b, r]], argon2VerifyLimitPerSec: limit };
}
