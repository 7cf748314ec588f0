/**
 * `keyward webhook ...`: the built CLI on the configured database (no service running), with --json.
 * Token events of CLI actions are queued too, for the service to deliver.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIST_CLI, ROOT } from '../support/build.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function keyward(args: string[], env: Record<string, string>): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [DIST_CLI, ...args], {
      cwd: ROOT,
      env: { ...process.env, LOG_LEVEL: 'silent', KEYWARD_TOKENS_FILE: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const json = (r: Result) => {
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
};

describe('keyward webhook', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => db?.drop());

  it('create, list, rotate-secret, deliveries and delete, with --json', { timeout: 300_000 }, async () => {
    const env = db.env;
    const created = json(
      await keyward(
        ['webhook', 'create', 'http://127.0.0.1:9/hook', '--event', 'token.created,token.revoked', '--json'],
        env,
      ),
    );
    expect(created).toMatchObject({ url: 'http://127.0.0.1:9/hook', events: ['token.created', 'token.revoked'] });
    expect(created.secret).toMatch(/^whsec_/);

    const listed = await keyward(['webhook', 'list', '--json'], env);
    expect(json(listed).map((w: { id: string }) => w.id)).toEqual([created.id]);
    expect(listed.stdout).not.toContain(created.secret);
    const table = await keyward(['webhook', 'list'], env);
    expect(table.stdout).toContain(created.id);

    const rotated = json(await keyward(['webhook', 'rotate-secret', created.id, '--grace', '1h', '--json'], env));
    expect(rotated.secret).not.toBe(created.secret);
    expect(rotated.previous_secret_expires_at).not.toBeNull();

    // A token revoked from the CLI is announced like one revoked over HTTP.
    const token = json(await keyward(['token', 'create', '--access', 'read', '--json'], env));
    json(await keyward(['token', 'revoke', token.id, '--json'], env));
    const log = json(await keyward(['webhook', 'deliveries', created.id, '--json'], env));
    expect(log.map((d: { event_type: string }) => d.event_type).sort()).toEqual(['token.created', 'token.revoked']);
    expect(log.every((d: { status: string }) => d.status === 'pending')).toBe(true);
    expect(JSON.stringify(log)).not.toContain(token.token);

    const bad = await keyward(['webhook', 'create', 'ftp://x', '--event', 'token.created'], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/url must be an http or https URL/);
    const noEvent = await keyward(['webhook', 'create', 'http://127.0.0.1:9/x', '--event', 'token.exploded'], env);
    expect(noEvent.code).toBe(1);
    expect(noEvent.stderr).toMatch(/events must be one of/);

    expect(json(await keyward(['webhook', 'delete', created.id, '--json'], env))).toEqual({
      id: created.id,
      deleted: true,
    });
    expect(json(await keyward(['webhook', 'list', '--json'], env))).toEqual([]);
    const gone = await keyward(['webhook', 'delete', created.id], env);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/Webhook not found/);
  });
});
