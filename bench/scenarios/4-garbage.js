// #4 Garbage at full speed: in the verify body (200 NOT_FOUND) and as the credential itself (401).
import { bare, load, roundRobin, roundRobinBearer } from '../lib/load.js';
import { garbageToken } from '../lib/tokens.js';

export async function run(ctx) {
  const { A, auth, emptyProject } = ctx;
  const garbage = Array.from({ length: 1000 }, garbageToken);
  const b1 = await bare(A);
  const body = await load(A, '#4a verify garbage tokens (body)', {
    path: '/v1/tokens/verify',
    method: 'POST',
    headers: auth,
    requests: roundRobin(garbage.map((t) => JSON.stringify({ token: t }))),
  });
  const b2 = await bare(A);
  const header = await load(A, '#4b garbage bearer token (401)', {
    path: `/v1/projects/${emptyProject.id}/tokens`,
    requests: roundRobinBearer(garbage),
  });
  return {
    runs: [b1, body, b2, header],
    pairs: [
      [b1, body],
      [b2, header],
    ],
  };
}
