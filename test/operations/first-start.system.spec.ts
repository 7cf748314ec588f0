import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { connectPglite } from '../../src/database/connect.js';
import { DIST_CLI } from '../support/build.js';
import { freePort, type Proc, ROOT, spawnService, waitForHttp } from '../support/process.js';

/**
 * A first start with nothing set (no KEYWARD_ADMIN_TOKEN, no DATABASE_URL, an empty data directory)
 * creates the admin token, prints it once on stderr and stores only its argon2id hash; later starts say
 * an admin token exists; `keyward admin reset` gives it a new secret.
 */
const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'keyward-first-start-'));
const running: Proc[] = [];
afterAll(async () => {
  await Promise.all(running.map((p) => p.stop()));
  rmSync(dir, { recursive: true, force: true });
});

const TOKEN_LINE = /^ {2}admin token: (\S+)$/gm;

async function start(env: Record<string, string>): Promise<{ proc: Proc; base: string }> {
  const port = await freePort();
  const proc = spawnService({ PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env });
  running.push(proc);
  const base = `http://127.0.0.1:${port}`;
  await waitForHttp(`${base}/health/ready`, proc, 120_000);
  return { proc, base };
}

function list(base: string, token: string): Promise<Response> {
  return fetch(`${base}/publisher.v1/api-token/list`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
  });
}

/** Every file under `path`, as bytes. */
function* filesUnder(path: string): Generator<Buffer> {
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const p = join(path, entry.name);
    if (entry.isDirectory()) yield* filesUnder(p);
    else if (statSync(p).isFile()) yield readFileSync(p);
  }
}

describe('first start with nothing set', () => {
  const dataDir = join(dir, 'data');
  let token = '';

  it('prints one admin token block on stderr, and the token works at once', async () => {
    const { proc, base } = await start({ KEYWARD_DATA_DIR: dataDir });
    const printed = [...proc.stderr().matchAll(TOKEN_LINE)].map((m) => m[1]);
    expect(printed).toHaveLength(1);
    token = printed[0];
    expect(token).toMatch(/^kw_[0-9A-Za-z]{65}$/);
    expect(proc.stderr()).toContain('shown only this once');
    expect(proc.stderr()).toContain('keyward admin reset');
    expect(proc.stdout()).not.toContain(token); // the log says an admin token was created, never its secret
    expect(proc.stdout()).toMatch(/admin token [0-9a-f-]{36} \(kw_\w{6}…\) created/);
    // A handful of start-up lines, not Nest's module list and route table.
    expect(proc.stdout()).not.toMatch(/Mapped \{/);
    expect(proc.stdout().trim().split('\n').length).toBeLessThanOrEqual(8);

    const res = await list(base, token);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { data: Array<{ id: string; access: string }> };
    expect(body.data).toHaveLength(1);
    expect(body.data[0].access).toBe('write');
    await proc.stop();
    expect(proc.stdout()).toMatch(/SIGTERM received: shutting down/);
  }, 240_000);

  it('stores only the argon2id hash: the secret is in no file of the data directory', async () => {
    const secret = Buffer.from(token);
    for (const bytes of filesUnder(dataDir)) expect(bytes.includes(secret)).toBe(false);
    const db = await connectPglite(dataDir);
    try {
      const rows = await db.sql.query<{ secret_hash: string; created_by_id: string; name: string }>(
        `SELECT secret_hash, created_by_id, name FROM api_tokens`,
      );
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ created_by_id: 'bootstrap', name: 'admin' });
      expect(rows[0].secret_hash).toMatch(/^\$argon2id\$/);
    } finally {
      await db.close();
    }
  }, 240_000);

  it('a later start prints no token and says an admin token exists; the same token still works', async () => {
    const { proc, base } = await start({ KEYWARD_DATA_DIR: dataDir });
    expect(proc.stderr()).not.toMatch(TOKEN_LINE);
    expect(proc.stdout()).toMatch(/an admin token exists: [0-9a-f-]{36}/);
    expect((await list(base, token)).status).toBe(200);
    await proc.stop();
  }, 240_000);

  it('keyward admin reset gives it a new secret: the new one works, the old one no longer does', async () => {
    const env = { ...process.env, KEYWARD_DATA_DIR: dataDir, DATABASE_URL: '', LOG_LEVEL: 'silent' };
    const { stdout } = await run(process.execPath, [DIST_CLI, 'admin', 'reset', '--json'], { cwd: ROOT, env });
    const reset = JSON.parse(stdout) as { token: string; replaced: boolean };
    expect(reset.replaced).toBe(true);
    const { proc, base } = await start({ KEYWARD_DATA_DIR: dataDir });
    expect((await list(base, reset.token)).status).toBe(200);
    expect((await list(base, token)).status).toBe(401);
    await proc.stop();
  }, 240_000);

  it('with KEYWARD_ADMIN_TOKEN set, nothing is created or printed', async () => {
    const admin = 'an-operator-chosen-admin-token-0123456789';
    const { proc, base } = await start({ KEYWARD_DATA_DIR: join(dir, 'with-admin'), KEYWARD_ADMIN_TOKEN: admin });
    expect(proc.stderr()).not.toMatch(TOKEN_LINE);
    const res = await list(base, admin);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { data: unknown[] }).data).toHaveLength(0);
    await proc.stop();
  }, 240_000);
});
