import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { DatabaseService } from '../../src/database/database.service.js';
import { ADMIN_TOKEN, useApp } from '../support/app.js';

const run = promisify(execFile);
const secrets: string[] = [ADMIN_TOKEN];

const t = useApp();
const api = t.api;

beforeAll(async () => {
  for (const access of ['read', 'write', 'write']) {
    const res = await api.post('/api-token/create', { access, description: 'dump me' });
    secrets.push(res.body.token);
    // use it once so every code path that touches a token has run
    await api.post('/api-token/list', {}, { token: res.body.token });
  }
});

/** Every string that would betray a secret: the whole token and its secret part. */
function needles(): string[] {
  return secrets.flatMap((s) => (s.startsWith('kw_') ? [s, s.slice(3 + 16, 3 + 16 + 43)] : [s]));
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

describe('no secret is ever stored', () => {
  it('a dump of the whole database contains no token secret, only argon2id hashes', async () => {
    const db = t.app.get(DatabaseService);
    let dump: string;
    if (t.db.mode === 'postgres') {
      dump = (await run('pg_dump', ['--no-owner', t.db.url!], { maxBuffer: 64 * 1024 * 1024 })).stdout;
    } else {
      // Embedded: every row of every table, as text.
      const tables = await db.sql.query<{ tablename: string }>(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'",
      );
      const parts: string[] = [];
      for (const { tablename } of tables) {
        parts.push(JSON.stringify(await db.sql.query(`SELECT * FROM "${tablename}"`)));
      }
      dump = parts.join('\n');
    }
    expect(dump).toContain('$argon2id$');
    expect(dump).toContain('dump me');
    for (const needle of needles()) expect(dump).not.toContain(needle);
  });

  it('the stored hashes use at least OWASP minimum argon2id parameters', async () => {
    const rows = await t.app.get(DatabaseService).prisma.apiToken.findMany({ select: { secretHash: true } });
    for (const { secretHash } of rows) {
      const m = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(secretHash);
      expect(m).not.toBeNull();
      expect(Number(m![1])).toBeGreaterThanOrEqual(19456);
      expect(Number(m![2])).toBeGreaterThanOrEqual(2);
    }
  });

  it('the embedded data directory holds no secret on disk', async () => {
    if (t.db.mode !== 'pglite') return; // PostgreSQL's files are the server's; pg_dump covers them above
    await t.app.get(DatabaseService).sql.exec('CHECKPOINT');
    const dir = t.config.KEYWARD_DATA_DIR;
    for (const file of walk(dir)) {
      const bytes = readFileSync(file);
      for (const needle of needles()) expect(bytes.includes(Buffer.from(needle)), file).toBe(false);
    }
  });
});
