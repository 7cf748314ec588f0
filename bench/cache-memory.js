// Heap per cached verification result. Fills the service's own TokenCache (dist/) with N distinct
// principals, built the way a cache miss builds them (effectiveState over a token row shaped like the
// driver's: every string and array a fresh object, as pg returns them), then the other two structures a
// verified token leaves behind, also bounded by KEYWARD_AUTH_CACHE_MAX: SecretMatches' remembered
// argon2 answer and the throttle's "proven" mark. Each structure is created after the baseline (its
// preallocated arrays count), the growth is read after two full GCs (heapUsed + arrayBuffers), per token.
// Run: npm run build && node --expose-gc bench/cache-memory.js [N=20000] [cache|all|misses]
import { randomBytes, randomUUID } from 'node:crypto';
import { loadConfig } from '../dist/config/config.schema.js';
import { AuthThrottle } from '../dist/verification/auth-throttle.js';
import { SecretMatches } from '../dist/verification/secret-matches.js';
import { TokenCache } from '../dist/verification/token-cache.service.js';
import { effectiveState } from '../dist/verification/token-rights.js';
import { WRITE_PERMISSIONS } from '../dist/access/permissions.js';

if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc');
const n = Number(process.argv[2] ?? 20_000);
const config = loadConfig({ KEYWARD_AUTH_CACHE_MAX: String(n) });

/** A copy the engine has never seen, like every string the driver parses out of a row. */
const fresh = (s) => (s === null ? null : Buffer.from(s, 'utf8').toString('utf8'));
const PROJECTS = Array.from({ length: 50 }, () => fresh(randomUUID()));
const PERMISSION_SETS = [
  ['read:token', 'read:project'],
  ['read:*'],
  ['read:token', 'write:token', 'read:project'],
  ['verify:token'],
];

/** Token row `i` as the driver returns it: a third global tokens, the rest in one of 50 projects. */
function row(i) {
  const project = i % 3 ? PROJECTS[i % PROJECTS.length] : null;
  const b64 = (k) => randomBytes(k).toString('base64').replace(/=+$/, '');
  return {
    id: fresh(randomUUID()),
    lookupId: randomBytes(16).toString('base64url'),
    secretHash: `$argon2id$v=19$m=19456,t=2,p=1$${b64(16)}$${b64(32)}`,
    stub: fresh('kw_abcd'),
    kind: fresh(project ? 'project' : 'global'),
    access: fresh('read'),
    permissions: PERMISSION_SETS[i % PERMISSION_SETS.length].map(fresh),
    projectId: fresh(project),
    scopeProjects: [],
    name: i % 2 ? fresh(`token-${i}`) : null,
    description: null,
    createdById: fresh('admin'),
    createdAt: new Date(),
    expiresAt: i % 4 === 0 ? new Date(Date.now() + 86_400_000 + i) : null,
    revokedAt: null,
    enabled: true,
    removeOnUse: false,
    usedAt: null,
    lastUsedAt: null,
    previousSecretHash: null,
    previousExpiresAt: null,
    scopes: i % 5 === 0 ? [fresh('docs:read')] : [],
    meta: null,
    owner: null,
    ratelimitLimit: null,
    ratelimitDurationMs: null,
    remaining: null,
    refillAmount: null,
    refillIntervalMs: null,
    refilledAt: null,
  };
}

const UNBOUNDED = { permissions: WRITE_PERMISSIONS, projects: null, scopes: ['*'], enabled: true, expiresAt: null };

function heap() {
  globalThis.gc();
  globalThis.gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

// The presented tokens and their hashes belong to the callers and to the database, not to the caches.
const presented = Array.from({ length: n }, () => fresh(`kw_${randomBytes(48).toString('base64url')}`));
const hashes = Array.from({ length: n }, (_, i) => fresh(row(i).secretHash));

/**
 * Fills what `what` names for N tokens and returns the growth per token: `cache` the TokenCache alone,
 * `all` the TokenCache, SecretMatches and the throttle's proven marks (each token goes through all three),
 * `misses` the throttle's negative cache (N values that matched nothing: a garbage flood).
 */
async function fill(what) {
  const base = heap();
  if (what === 'misses') {
    const throttle = new AuthThrottle(config, { handle: { pool: null } });
    for (let i = 0; i < n; i++) {
      await (await throttle.admit(presented[i], undefined)).settle(async () => ({ code: 'NOT_FOUND' }));
    }
    return { bytes: Math.round((heap() - base) / n), keep: [throttle] };
  }
  const cache = new TokenCache(config);
  cache.trustAlways();
  const matches = what === 'all' ? new SecretMatches(config, { verify: async () => true }) : null;
  const throttle = what === 'all' ? new AuthThrottle(config, { handle: { pool: null } }) : null;
  const now = new Date();
  for (let i = 0; i < n; i++) {
    const r = row(i); // read from the database for this miss; only what the caches keep stays
    const key = cache.keyOf(presented[i]);
    if (matches) await matches.matches(key, hashes[i], presented[i]);
    if (throttle) await (await throttle.admit(presented[i], undefined)).settle(async () => ({ code: 'VALID' }));
    const state = effectiveState(r, [], () => UNBOUNDED, now);
    cache.set(key, state.principal, state.ids, state.principal.expiresAt, cache.snapshot());
  }
  const grown = heap() - base;
  if (cache.size !== n) throw new Error(`cached ${cache.size} of ${n}`);
  return { bytes: Math.round(grown / n), keep: [cache, matches, throttle] };
}

const what = process.argv[3] ?? 'cache';
const { bytes } = await fill(what);
console.log(JSON.stringify({ tokens: n, structures: what, bytesPerToken: bytes, node: process.version }));
