// Settings of one benchmark run, logging, and the teardown of everything the run created.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const ARGS = process.argv.slice(2);
export const QUICK = ARGS.includes('--quick');
export const ONLY = (
  ARGS.find((a) => a.startsWith('--only='))
    ?.slice(7)
    .split(',') ?? []
).filter(Boolean);
export const DURATION = QUICK ? 3 : Number(process.env.BENCH_DURATION ?? 10);
if (!Number.isFinite(DURATION) || DURATION < 1 || DURATION > 300) throw new Error('BENCH_DURATION: 1..300 seconds');
/** Runs per pair in the alternated-pairs scenario (#8): shorter, there are many of them. */
export const PAIR_DURATION = QUICK ? 2 : Number(process.env.BENCH_PAIR_DURATION ?? Math.min(DURATION, 6));
export const PAIRS = QUICK ? 2 : Number(process.env.BENCH_PAIRS ?? 5);
export const CONNECTIONS = 50;
/** Scenario #8 entries to run (`BENCH_GATEWAY=forwardAuth,throttled`); all when unset. */
export const GATEWAY_KEYS = (process.env.BENCH_GATEWAY ?? '').split(',').filter(Boolean);
export const PG_BASE = process.env.BENCH_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432';
export const DB_NAME = `keyward_bench_${process.pid}_${Date.now().toString(36)}`;
export const DATABASE_URL = `${PG_BASE}/${DB_NAME}`;
export const ADMIN_TOKEN = `bench-admin-${randomBytes(24).toString('hex')}`;
/** Distinct valid tokens for #2, #3 and #5 (dev: fewer). */
export const TOKENS = Number(process.env.BENCH_TOKENS ?? 1000);
export const TMP = mkdtempSync(path.join(os.tmpdir(), 'keyward-bench-'));
export const want = (n) => ONLY.length === 0 || ONLY.includes(String(n));

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const log = (msg) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${msg}`);
export const round = (n, d = 2) => (n == null || !Number.isFinite(n) ? null : Math.round(n * 10 ** d) / 10 ** d);
export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// ------------------------------------------------------------------------------- teardown
export const apps = new Set();
let dbCreated = false;
let finishing = false;

export async function createDatabase() {
  const admin = new pg.Client({ connectionString: `${PG_BASE}/postgres` });
  await admin.connect();
  const version = (await admin.query('SHOW server_version')).rows[0].server_version;
  await admin.query(`CREATE DATABASE "${DB_NAME}"`);
  dbCreated = true;
  await admin.end();
  return version;
}

/** Throwaway databases a scenario creates for itself (dropped by `dropPrivateDatabase` or the teardown). */
const privateDatabases = new Set();

/** Creates `keyward_bench_*_<suffix>` on the same server and returns its URL. */
export async function createPrivateDatabase(suffix) {
  const name = `${DB_NAME}_${suffix}`;
  const admin = new pg.Client({ connectionString: `${PG_BASE}/postgres` });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
    privateDatabases.add(name);
  } finally {
    await admin.end();
  }
  return { name, url: `${PG_BASE}/${name}` };
}

export async function dropPrivateDatabase(name) {
  const admin = new pg.Client({ connectionString: `${PG_BASE}/postgres` });
  try {
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    privateDatabases.delete(name);
  } catch (err) {
    console.error(`bench: could not drop database ${name}: ${err.message}`);
  } finally {
    await admin.end().catch(() => undefined);
  }
}

export async function teardown() {
  if (finishing) return;
  finishing = true;
  await Promise.all([...apps].map((a) => a.stop().catch(() => undefined)));
  for (const name of [...privateDatabases]) await dropPrivateDatabase(name);
  if (dbCreated) {
    const admin = new pg.Client({ connectionString: `${PG_BASE}/postgres` });
    try {
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS "${DB_NAME}" WITH (FORCE)`);
      dbCreated = false;
    } catch (err) {
      console.error(`bench: could not drop database ${DB_NAME}: ${err.message}`);
    } finally {
      await admin.end().catch(() => undefined);
    }
  }
  rmSync(TMP, { recursive: true, force: true });
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    console.error(`\nbench: ${signal}, cleaning up`);
    void teardown().finally(() => process.exit(130));
  });
}
