// #5 Scale: 1k, 100k, 1M stored rows (filler rows inserted with SQL, all already expired so that #6 can
// clean exactly 1M of them; expiry does not change the unique-index lookup verify does).
import { load, roundRobin } from '../lib/load.js';
import { unknownToken } from '../lib/tokens.js';

export const SCALE_LEVELS = [1_000, 100_000, 1_000_000];

export async function run(ctx) {
  const { A, db, auth, adminAuth, verifyBodies } = ctx;
  const B = await ctx.appB();
  await ctx.warm();
  const liveRows = Number((await db.query('SELECT count(*) FROM api_tokens')).rows[0].count);
  const unknown = Array.from({ length: 1000 }, () => JSON.stringify({ token: unknownToken() }));
  const levels = [];
  for (const level of SCALE_LEVELS) {
    const target = level === SCALE_LEVELS.at(-1) ? ctx.CLEANUP_ROWS : level - liveRows;
    await ctx.fill(target);
    const stored = Number((await db.query('SELECT count(*) FROM api_tokens')).rows[0].count);
    const cold = await load(B, `#5 ${stored} rows: cold verify (cache off, 2 conns)`, {
      path: '/v1/tokens/verify',
      method: 'POST',
      headers: adminAuth,
      connections: 2,
      requests: roundRobin(verifyBodies),
    });
    const lookup = await load(B, `#5 ${stored} rows: unknown well-formed token (DB lookup only)`, {
      path: '/v1/tokens/verify',
      method: 'POST',
      headers: adminAuth,
      requests: roundRobin(unknown),
    });
    const cached = await load(A, `#5 ${stored} rows: cached verify`, {
      path: '/v1/tokens/verify',
      method: 'POST',
      headers: auth,
      requests: roundRobin(verifyBodies),
    });
    levels.push({ level, stored, cold, lookup, cached });
  }
  return { levels };
}
