import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.factory.js';
import { loadConfig } from '../../src/config/config.schema.js';
import { DIST_CLI, ROOT } from '../support/build.js';
import { type CliResult, keywardBin as keyward } from '../support/cli.js';
import { createTestDatabase } from '../support/db.js';

/** The `keyward` bin as a process: exit codes, streams, the embedded database's lock, a terminal. */
const ok = (r: CliResult) => {
  expect(r.stderr.includes('unexpected error'), r.stderr).toBe(false);
  expect(r.code, r.stderr).toBe(0);
  return r;
};
const dir = mkdtempSync(join(tmpdir(), 'keyward-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the bin', () => {
  it('exits 0 with the result on stdout, 1 with a usage error on stderr, 2 for a token that does not verify', async () => {
    const db = await createTestDatabase();
    try {
      const made = JSON.parse(ok(await keyward(['token', 'create', '--access', 'read', '--json'], db.env)).stdout);
      expect(made.token).toMatch(/^kw_[0-9A-Za-z]{65}$/);
      const valid = await keyward(['token', 'verify', '--json'], db.env, `${made.token}\n`);
      expect(valid.code, valid.stderr).toBe(0);
      expect(JSON.parse(valid.stdout)).toMatchObject({ valid: true, code: 'VALID' });
      const unknown = await keyward(['token', 'verify'], db.env, `kw_${'x'.repeat(65)}`);
      expect(unknown.code).toBe(2);
      expect(unknown.stdout).toMatch(/✗ NOT_FOUND/);
      const usage = await keyward(['token', 'frobnicate'], db.env);
      expect(usage.code).toBe(1);
      expect(usage.stdout).toBe('');
      expect(usage.stderr).toMatch(/unknown command 'frobnicate'/);
    } finally {
      await db.drop();
    }
  });
});

describe('on the embedded database', () => {
  it('refuses while the service holds the data directory, and says so', async () => {
    const dataDir = join(dir, 'pglite-data');
    const env = { DATABASE_URL: '', KEYWARD_DATA_DIR: dataDir };
    const app = await createApp(loadConfig({ LOG_LEVEL: 'silent', ...env }));
    await app.init();
    try {
      for (const args of [
        ['token', 'list'],
        ['token', 'create', '--access', 'read'],
      ]) {
        const r = await keyward(args, env);
        expect(r.code).toBe(1);
        expect(r.stdout).toBe('');
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
        expect(r.stderr).toContain(
          `keyward: The embedded database directory ${dataDir} is in use by another Keyward process (PID ${process.pid} `,
        );
        expect(r.stderr).toContain(
          'Only one process may open it: stop the running service first, or point KEYWARD_DATA_DIR elsewhere.',
        );
      }
    } finally {
      await app.close();
    }
    // Once the service has stopped, the CLI works on the same directory.
    expect(ok(await keyward(['token', 'list'], env)).stdout).toMatch(/No tokens\./);
  });
});

describe('master-token commands on a terminal', () => {
  const masterTokenEnv = { DATABASE_URL: '', KEYWARD_TOKEN_PREFIX: 'lightd_' };

  it('set does not echo the token typed on a terminal', { timeout: 300_000 }, async () => {
    // `script` (util-linux) gives the CLI a pseudo-terminal, as an operator's shell would.
    const file = join(dir, 'typed.json');
    const secret = 'lightd_typed_on_a_terminal_0123456789';
    const cmd = [process.execPath, DIST_CLI, 'token', 'set', '--file', file].map((a) => `'${a}'`).join(' ');
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn('script', ['-qefc', cmd, '/dev/null'], {
        cwd: ROOT,
        env: { ...process.env, LOG_LEVEL: 'silent', KEYWARD_TOKENS_FILE: '', ...masterTokenEnv },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let out = '';
      let typed = false;
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        // Type only once the prompt shows, as a person would.
        if (!typed && out.includes('> ')) {
          typed = true;
          child.stdin.write(`${secret}\r`);
        }
      });
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`exit ${code}: ${out}`))));
    });
    const afterPrompt = output.slice(output.indexOf('> ') + 2);
    expect(afterPrompt.split('\n')[0].trim()).toBe(''); // nothing echoed on the prompt's line
    expect(output.split(secret)).toHaveLength(2); // only in the confirmation line
    expect(output).toContain(`New Token: ${secret}`);
    expect(JSON.parse(readFileSync(file, 'utf8')).authorization.token).toBe(secret);
  });
});
