import pg from 'pg';
import { buildIfStale } from './build.js';

/** Picks the database for the run: PostgreSQL when one answers (or is demanded), else embedded PGlite. */
export default async function setup(): Promise<void> {
  // Some specs spawn dist/main.js or the dist/cli/main.js bin as a user would.
  if (!process.env.KEYWARD_SKIP_BUILD) buildIfStale();
  if (process.env.KEYWARD_TEST_DB === 'pglite') return;
  const url = process.env.KEYWARD_TEST_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.end();
    process.env.KEYWARD_TEST_DB = 'postgres';
  } catch (err) {
    if (process.env.KEYWARD_TEST_DB === 'postgres') {
      throw new Error(`KEYWARD_TEST_DB=postgres but ${url} does not answer: ${(err as Error).message}`);
    }
    console.warn(`[keyward tests] no PostgreSQL at ${url}: running on embedded PGlite`);
    process.env.KEYWARD_TEST_DB = 'pglite';
  }
  console.log(`[keyward tests] database: ${process.env.KEYWARD_TEST_DB}`);
}
