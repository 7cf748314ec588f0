// Heap and RSS per cached verification result: fills the service's own TokenCache (dist/) with N
// principals built by the engine's principalOf from token rows shaped like the database's, the way a
// cache miss stores them, and reports the growth per token after a full GC.
// Run: npm run build && node --expose-gc bench/cache-memory.js [N=10000]
import { randomBytes, randomUUID } from 'node:crypto';
import { loadConfig } from '../dist/config/config.schema.js';
import { TokenCache } from '../dist/verification/token-cache.service.js';
import { principalOf } from '../dist/verification/token-rights.js';

const n = Number(process.argv[2] ?? 10_000);
const config = loadConfig({ KEYWARD_AUTH_CACHE_MAX: String(n * 2) });
const cache = new TokenCache(config);
cache.trustAlways?.();

function row(i) {
  const projectId = randomUUID();
  return {
    id: randomUUID(),
    lookupId: randomBytes(16).toString('base64url'),
    secretHash: `$argon2id$v=19$m=19456,t=2,p=1$${randomBytes(16).toString('base64')}$${randomBytes(32).toString('base64')}`,
    stub: 'kw_abcd',
    kind: i % 2 ? 'project' : 'global',
    access: 'read',
    permissions: i % 2 ? ['read:token', 'read:project'] : ['read:*'],
    projectId: i % 2 ? projectId : null,
    scopeProjects: [],
    name: i % 2 ? `token-${i}` : null,
    description: null,
    createdById: 'admin',
    createdAt: new Date(),
    expiresAt: null,
    revokedAt: null,
    enabled: true,
    removeOnUse: false,
    usedAt: null,
    lastUsedAt: null,
    previousSecretHash: null,
    previousExpiresAt: null,
  };
}

function measure() {
  globalThis.gc();
  globalThis.gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, rss: m.rss };
}

// The presented tokens are made first: they belong to the callers, not to the cache.
const presented = Array.from({ length: n }, () => `kw_${randomBytes(48).toString('base64url')}`);
const before = measure();
for (let i = 0; i < n; i++) {
  const r = row(i); // read from the database for this miss; only what the cache keeps stays
  cache.set(cache.keyOf(presented[i]), principalOf(r), r.id, null, cache.snapshot());
}
const after = measure();
const perHeap = (after.heap - before.heap) / n;
const perRss = (after.rss - before.rss) / n;
console.log(
  JSON.stringify({
    tokens: n,
    cached: cache.size,
    heapBytesPerToken: Math.round(perHeap),
    rssBytesPerToken: Math.round(perRss),
    node: process.version,
  }),
);
