// #1 Authenticated requests with a cached token: a) verify of the caller's own token; b) list an empty project.
import { bare, load } from '../lib/load.js';

export const title = 'authenticated request with a cached token';

export async function run(ctx) {
  const { A, auth, caller, emptyProject } = ctx;
  const b1 = await bare(A);
  const verifySelf = await load(A, '#1a verify (cached caller, cached subject)', {
    path: '/v1/tokens/verify',
    method: 'POST',
    headers: auth,
    body: JSON.stringify({ token: caller }),
  });
  const b2 = await bare(A);
  const list = await load(A, '#1b list empty project (cached caller, 1 DB query)', {
    path: `/v1/projects/${emptyProject.id}/tokens`,
    headers: { authorization: `Bearer ${caller}` },
  });
  return {
    runs: [b1, verifySelf, b2, list],
    pairs: [
      [b1, verifySelf],
      [b2, list],
    ],
  };
}
