// #7 Creation throughput (argon2-bound) and the app's memory.
import { DURATION, round, sleep } from '../lib/context.js';
import { load } from '../lib/load.js';
import { argon2Limit } from '../lib/tokens.js';

export async function run(ctx) {
  const { A, adminAuth, results } = ctx;
  const limit = await argon2Limit('hash', Math.min(DURATION, 5));
  await sleep(1000);
  const rssIdle = round(A.rss(), 1);
  const r = await load(A, '#7 create tokens (4 conns)', {
    path: '/api-token/create',
    method: 'POST',
    headers: adminAuth,
    connections: 4,
    body: JSON.stringify({ access: 'read', description: 'bench create' }),
  });
  return {
    runs: [r],
    argon2HashLimitPerSec: limit,
    rss: {
      idleFresh: results.setup.rssIdleFreshMiB,
      idleAfterSetup: results.setup.rssIdleAfterSetupMiB,
      idleBeforeCreate: rssIdle,
      underCachedVerifyLoad: results.scenarios[2]?.runs[1].appRssMaxMiB ?? null,
      underCreateLoad: r.appRssMaxMiB,
      coldVerifyLoad: results.scenarios[3]?.runs[1].appRssMaxMiB ?? null,
    },
  };
}
