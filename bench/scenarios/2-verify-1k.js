// #2 Verify 1,000 distinct valid tokens round-robin, cache warm.
import { TOKENS } from '../lib/context.js';
import { bare, load, roundRobin } from '../lib/load.js';

export async function run(ctx) {
  const { A, auth, verifyBodies } = ctx;
  await ctx.warm();
  const b = await bare(A);
  const r = await load(A, `#2 verify ${TOKENS} tokens round-robin (cache warm)`, {
    path: '/v1/tokens/verify',
    method: 'POST',
    headers: auth,
    requests: roundRobin(verifyBodies),
  });
  return { runs: [b, r], pairs: [[b, r]] };
}
