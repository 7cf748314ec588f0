import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { connectPglite, connectPostgres, DataDirLockedError, type DatabaseHandle } from '../../src/database/connect.js';
import { MIGRATIONS_DIR } from '../../src/database/database.module.js';
import { migrate, MigrationError, readMigrations } from '../../src/database/migrator.js';
import { createTestDatabase, TEST_DB_MODE, type TestDatabase } from '../support/db.js';

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function fresh(): Promise<{ db: TestDatabase; open: () => Promise<DatabaseHandle> }> {
  const db = await createTestDatabase();
  cleanups.push(() => db.drop());
  const open = async () => {
    const h = db.mode === 'postgres' ? await connectPostgres(db.url!, 4) : await connectPglite(db.env.KEYWARD_DATA_DIR);
    return h;
  };
  return { db, open };
}

describe('migrations (prisma/migrations, applied without the Prisma CLI)', () => {
  it("applies every migration once and records it in Prisma's _prisma_migrations with sha256 checksums", async () => {
    const { open } = await fresh();
    const h = await open();
    try {
      const first = await migrate(h.sql, MIGRATIONS_DIR);
      const files = await readMigrations(MIGRATIONS_DIR);
      expect(first).toEqual(files.map((f) => f.name));
      expect(await migrate(h.sql, MIGRATIONS_DIR)).toEqual([]);
      const rows = await h.sql.query<{ migration_name: string; checksum: string; finished_at: Date | null }>(
        'SELECT migration_name, checksum, finished_at FROM "_prisma_migrations" ORDER BY migration_name',
      );
      expect(rows.map((r) => r.migration_name)).toEqual(files.map((f) => f.name));
      for (const [i, r] of rows.entries()) {
        const sql = readFileSync(join(MIGRATIONS_DIR, files[i].name, 'migration.sql'));
        expect(r.checksum).toBe(createHash('sha256').update(sql).digest('hex'));
        expect(r.finished_at).not.toBeNull();
      }
      // The schema Prisma expects is there.
      const cols = await h.sql.query<{ column_name: string }>(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'api_tokens'",
      );
      expect(cols.map((c) => c.column_name)).toEqual(
        expect.arrayContaining(['lookup_id', 'secret_hash', 'expires_at']),
      );
    } finally {
      await h.close();
    }
  });

  it('refuses to run over a migration edited after it was applied', async () => {
    const { open } = await fresh();
    const dir = mkdtempSync(join(tmpdir(), 'keyward-mig-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    cpSync(MIGRATIONS_DIR, dir, { recursive: true });
    const h = await open();
    try {
      await migrate(h.sql, dir);
      const first = (await readMigrations(dir))[0].name;
      writeFileSync(
        join(dir, first, 'migration.sql'),
        readFileSync(join(dir, first, 'migration.sql'), 'utf8') + '\n-- edited\n',
      );
      await expect(migrate(h.sql, dir)).rejects.toBeInstanceOf(MigrationError);
    } finally {
      await h.close();
    }
  });

  it.skipIf(TEST_DB_MODE !== 'postgres')('serialises concurrent starts on one PostgreSQL database', async () => {
    const { open } = await fresh();
    const handles = await Promise.all([open(), open(), open()]);
    try {
      const results = await Promise.all(handles.map((h) => migrate(h.sql, MIGRATIONS_DIR)));
      expect(results.filter((r) => r.length > 0)).toHaveLength(1);
    } finally {
      await Promise.all(handles.map((h) => h.close()));
    }
  });
});

describe('embedded PGlite data directory', () => {
  it('cannot be opened twice: the second opener is refused with a clear message', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyward-lock-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const first = await connectPglite(join(dir, 'data'));
    try {
      const err = await connectPglite(join(dir, 'data')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DataDirLockedError);
      expect((err as Error).message).toMatch(/is in use by this process \(PID \d+\)/);
    } finally {
      await first.close();
    }
    // Released on close: it opens again.
    const again = await connectPglite(join(dir, 'data'));
    await again.close();
  });
});
