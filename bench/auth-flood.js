#!/usr/bin/env node
/**
 * Measures the failed-authentication throttle (README "Reliability" → "Throttling"): floods of forged
 * credentials against the built app, in process (so argon2 calls and throttle counters are read from the
 * app itself), on a throwaway PostgreSQL database. Loopback only; bounded request counts.
 *
 *   npm run build && node bench/auth-flood.js            # defaults: 2,000 forged requests per flood
 *   FLOOD=5000 node bench/auth-flood.js
 *
 * Client addresses are simulated with X-Forwarded-For (KEYWARD_TRUST_PROXY=true): documentation
 * addresses in a header, every request goes to 127.0.0.1.
 */
import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { createApp } from '../dist/app.factory.js';
import { loadConfig } from '../dist/config/config.schema.js';
import { PasswordHasher } from '../dist/verification/password-hasher.js';
import { AuthThrottle } from '../dist/verification/auth-throttle.js';
import { TokenCodec } from '../dist/verification/token-codec.js';

const PG_BASE = process.env.BENCH_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432';
const FLOOD = Number(process.env.FLOOD ?? 2000);
const WIDTH = Number(process.env.WIDTH ?? 20);
const ADMIN = `bench-admin-${randomBytes(16).toString('hex')}`;
const codec = new TokenCodec('kw_');

async function withDatabase(fn) {
  const name = `keyward_flood_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: `${PG_BASE}/postgres` });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  try {
    return await fn(`${PG_BASE}/${name}`);
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end();
  }
}

async function start(url, env) {
  const config = loadConfig({
    DATABASE_URL: url,
    LOG_LEVEL: 'silent',
    KEYWARD_ADMIN_TOKEN: ADMIN,
    KEYWARD_TRUST_PROXY: 'true',
    KEYWARD_CLEANUP_INTERVAL: 'off',
    ...env,
  });
  const app = await createApp(config);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.getHttpServer().address();
  return { app, base: `http://127.0.0.1:${port}`, hasher: app.get(PasswordHasher), throttle: app.get(AuthThrottle) };
}

async function call(base, path, token, address, body = {}) {
  const t0 = performance.now();
  const res = await fetch(base + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'x-forwarded-for': address },
    body: JSON.stringify(body),
  });
  const json = await res.json().catch(() => null);
  return { status: res.status, ms: performance.now() - t0, json };
}

async function pool(n, width, fn) {
  const out = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await fn(i);
      }
    }),
  );
  return out;
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN;
};
const fmt = (x) => (Number.isFinite(x) ? x.toFixed(1) : '-');

/** Wrong secrets for one real token's lookup id, from 50 addresses; the real holder asks every 10th request. */
async function wrongSecrets(url, label, env) {
  const { app, base, hasher, throttle } = await start(url, env);
  try {
    const real = (await call(base, '/api-token/create', ADMIN, '192.0.2.1', { access: 'read' })).json.token;
    const { lookupId } = codec.parse(real);
    await call(base, '/api-token/list', real, '198.51.100.2', { pagination: { limit: 1 } });
    const before = hasher.stats.verifies;
    const t0 = performance.now();
    const results = await pool(FLOOD, WIDTH, async (i) => {
      if (i % 10 === 0)
        return {
          real: true,
          i,
          ...(await call(base, '/api-token/list', real, '198.51.100.2', { pagination: { limit: 1 } })),
        };
      return {
        real: false,
        i,
        ...(await call(base, '/api-token/list', codec.generate(lookupId).token, `203.0.113.${i % 50}`)),
      };
    });
    const wall = (performance.now() - t0) / 1000;
    const forged = results.filter((r) => !r.real);
    const reals = results.filter((r) => r.real);
    const first429 = forged.find((r) => r.status === 429);
    console.log(
      `${label}: ${forged.length} forged in ${wall.toFixed(1)} s → 401 ×${forged.filter((r) => r.status === 401).length}, ` +
        `429 ×${forged.filter((r) => r.status === 429).length}, 503 ×${forged.filter((r) => r.status === 503).length}, ` +
        `other ×${forged.filter((r) => ![401, 429, 503].includes(r.status)).length}; first 429 at forged request #${first429 ? forged.indexOf(first429) + 1 : '-'}; ` +
        `argon2 verifies ${hasher.stats.verifies - before} (of which real holder ${reals.length} at most); ` +
        `real holder ${reals.filter((r) => r.status === 200).length}/${reals.length} OK, p50 ${fmt(
          pct(
            reals.map((r) => r.ms),
            50,
          ),
        )} ms, ` +
        `max ${fmt(Math.max(...reals.map((r) => r.ms)))} ms; throttle ${JSON.stringify(throttle.stats)}`,
    );
  } finally {
    await app.close();
  }
}

/** Random well-formed tokens (unknown lookup ids) from one address. */
async function randomTokens(url, label, env) {
  const { app, base, hasher, throttle } = await start(url, env);
  try {
    const before = hasher.stats.verifies;
    const results = await pool(FLOOD, WIDTH, async () =>
      call(base, '/api-token/list', codec.generate().token, '203.0.113.9'),
    );
    const firstIdx = results.findIndex((r) => r.status === 429);
    const admin = await call(base, '/api-token/list', ADMIN, '203.0.113.9');
    console.log(
      `${label}: ${results.length} random well-formed tokens from one address → 401 ×${results.filter((r) => r.status === 401).length}, ` +
        `429 ×${results.filter((r) => r.status === 429).length}; first 429 at request #${firstIdx + 1}; ` +
        `argon2 verifies ${hasher.stats.verifies - before}; a valid token from the same address: ${admin.status}; ` +
        `throttle ${JSON.stringify(throttle.stats)}`,
    );
  } finally {
    await app.close();
  }
}

await withDatabase(async (url) => {
  const unthrottled = { KEYWARD_THROTTLE_ADDRESS: '1000000', KEYWARD_THROTTLE_TOKEN: '1000000' };
  await wrongSecrets(url, 'wrong secrets, defaults (positive cache on)', {});
  await wrongSecrets(url, 'wrong secrets, defaults, positive cache off', { KEYWARD_AUTH_CACHE_TTL: '0' });
  await wrongSecrets(url, 'wrong secrets, throttle effectively off (limits 1,000,000)', unthrottled);
  await randomTokens(url, 'random tokens, defaults', {});
});
