import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * Each test file gets its own database: a throwaway PostgreSQL database on the local server
 * (KEYWARD_TEST_DB=postgres, the default when one answers) or an embedded PGlite directory
 * (KEYWARD_TEST_DB=pglite). `global-setup.ts` decides once per run and exports the choice.
 */
export const TEST_DB_MODE = (process.env.KEYWARD_TEST_DB ?? 'postgres') as 'postgres' | 'pglite';
export const ADMIN_PG_URL = process.env.KEYWARD_TEST_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  mode: 'postgres' | 'pglite';
  env: Record<string, string>;
  /** PostgreSQL URL of this database (postgres mode only). */
  url?: string;
  dataDir?: string;
  drop(): Promise<void>;
}

export function databaseUrl(name: string): string {
  const u = new URL(ADMIN_PG_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

export async function createTestDatabase(): Promise<TestDatabase> {
  if (TEST_DB_MODE === 'pglite') {
    const dataDir = mkdtempSync(join(tmpdir(), 'keyward-test-'));
    return {
      mode: 'pglite',
      dataDir,
      env: { KEYWARD_DATA_DIR: join(dataDir, 'data'), DATABASE_URL: '' },
      async drop() {
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  }
  const name = `keyward_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_PG_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = databaseUrl(name);
  return {
    mode: 'postgres',
    url,
    env: { DATABASE_URL: url },
    async drop() {
      const c = new pg.Client({ connectionString: ADMIN_PG_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await c.end();
    },
  };
}
