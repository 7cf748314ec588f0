// #6 Cleanup of 1M expired rows by app C (short interval), under verify load on C itself while the
// cleanup advisory lock is held.
import { CLEANUP_LOCK_KEY } from '../../dist/cleanup/cleanup.repository.js';
import { api, pool, startApp } from '../lib/app.js';
import { log, sleep } from '../lib/context.js';
import { load, roundRobin } from '../lib/load.js';
import { unknownToken } from '../lib/tokens.js';

export async function run(ctx) {
  const { db, auth, adminAuth, caller, verifyBodies } = ctx;
  await ctx.fill(ctx.CLEANUP_ROWS);
  const expired = Number(
    (await db.query('SELECT count(*) FROM api_tokens WHERE expires_at <= now() AND revoked_at IS NULL')).rows[0].count,
  );
  const C = await startApp('C', {
    KEYWARD_AUTH_CACHE_TTL: '30m',
    KEYWARD_CLEANUP_INTERVAL: '10s',
    KEYWARD_CLEANUP_BATCH_SIZE: '10000',
  });
  const subset = verifyBodies.slice(0, 100);
  await api(C, 'POST', '/v1/tokens/verify', { token: caller }, caller);
  await pool(subset.length, 4, (i) => api(C, 'POST', '/v1/tokens/verify', JSON.parse(subset[i]), caller));
  const unknown = Array.from({ length: 1000 }, () => JSON.stringify({ token: unknownToken() }));
  const lockHeld = async () =>
    Number(
      (
        await db.query(
          `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid = $1::bigint::oid`,
          [CLEANUP_LOCK_KEY],
        )
      ).rows[0].count,
    ) > 0;
  const waitUntil = Date.now() + 60_000;
  while (!(await lockHeld())) {
    if (Date.now() > waitUntil) throw new Error('cleanup pass did not start within 60 s');
    await sleep(20);
  }
  const passStart = Date.now();
  log(`cleanup pass started (${expired} expired rows); verify load on C until it ends`);
  const c1 = {};
  const c2 = {};
  const during = Promise.all([
    load(
      C,
      '#6 cached verify during cleanup',
      {
        path: '/v1/tokens/verify',
        method: 'POST',
        headers: auth,
        duration: 600,
        requests: roundRobin(subset),
      },
      c1,
    ),
    load(
      C,
      '#6 DB-lookup verify during cleanup (8 conns)',
      {
        path: '/v1/tokens/verify',
        method: 'POST',
        headers: adminAuth,
        connections: 8,
        duration: 600,
        requests: roundRobin(unknown),
      },
      c2,
    ),
  ]);
  const passDeadline = Date.now() + 300_000;
  while (await lockHeld()) {
    if (Date.now() > passDeadline) break;
    await sleep(20);
  }
  const passMs = Date.now() - passStart;
  c1.stop?.();
  c2.stop?.();
  const [cachedDuring, lookupDuring] = await during;
  const left = Number((await db.query('SELECT count(*) FROM api_tokens WHERE expires_at <= now()')).rows[0].count);
  log(`cleanup pass: ~${passMs} ms, ${expired - left} rows removed, ${left} expired left`);
  const cachedAfter = await load(C, '#6 cached verify after cleanup (baseline)', {
    path: '/v1/tokens/verify',
    method: 'POST',
    headers: auth,
    requests: roundRobin(subset),
  });
  await C.stop();
  return {
    expiredBefore: expired,
    expiredLeft: left,
    passMs,
    cachedDuring,
    lookupDuring,
    cachedAfter,
  };
}
