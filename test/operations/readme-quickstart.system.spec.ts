import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, ROOT } from '../support/process.js';

/**
 * The README's quick start, run as a newcomer types it: the shell blocks marked `<!-- quickstart -->`,
 * in order, in ONE shell (so what one block exports, the next one sees), on a free port, in a fresh
 * copy of the project (its own build and its own ./data: the embedded database a newcomer gets), with
 * nothing set: the first start prints the admin token, and the first request uses it.
 */
const MARKED_BLOCK = /<!-- quickstart -->\s*\n```(?:bash|sh)\n([\s\S]*?)```/g;

function quickstartBlocks(readme: string): string[] {
  return [...readme.matchAll(MARKED_BLOCK)].map((m) => m[1]);
}

describe("the README's quick start", () => {
  const blocks = quickstartBlocks(readFileSync(join(ROOT, 'README.md'), 'utf8'));
  let copy: string | undefined;
  afterAll(() => {
    if (copy) rmSync(copy, { recursive: true, force: true });
  });

  it('has marked blocks that start the service, read the printed admin token, create, list, revoke and verify', () => {
    const all = blocks.join('\n');
    expect(blocks.length).toBeGreaterThanOrEqual(3);
    for (const step of ['npm start', 'admin token', '/api-token/create', '/api-token/list', '/api-token/revoke']) {
      expect(all).toContain(step);
    }
    expect(all).toContain('/v1/tokens/verify');
    // The server's output goes to a file, not onto the terminal between the user's commands.
    expect(all).toMatch(/^npm start > keyward\.log 2>&1 &/m);
    // Nothing is set beforehand: the admin token comes from the first start's output.
    expect(all).not.toMatch(/KEYWARD_ADMIN_TOKEN=/);
  });

  it('runs as written, in one shell, and every step succeeds', async () => {
    copy = mkdtempSync(join(tmpdir(), 'keyward-quickstart-'));
    for (const entry of [
      'package.json',
      'package-lock.json',
      'tsconfig.json',
      'tsconfig.build.json',
      'prisma.config.ts',
      'prisma',
      'scripts',
    ]) {
      cpSync(join(ROOT, entry), join(copy, entry), { recursive: true });
    }
    cpSync(join(ROOT, 'src'), join(copy, 'src'), {
      recursive: true,
      filter: (source) => !source.includes(`${join('src', 'generated')}`),
    });
    // `npm ci` is the install step before the quick start: the copy shares this checkout's packages.
    symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'), 'dir');

    const port = await freePort();
    // -e and pipefail so that a failing step fails the test; the commands themselves are the README's.
    const script = ['set -eo pipefail', ...blocks, 'echo QUICKSTART-DONE'].join('\n');
    const child = spawn('bash', ['-c', script], {
      cwd: copy,
      detached: true, // its own process group: the server it starts in the background is stopped with it
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', LANG: 'C.UTF-8', PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => resolve(-1), 400_000);
      child.on('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      /* already gone */
    }
    await new Promise((r) => setTimeout(r, 500));

    const log = (() => {
      try {
        return readFileSync(join(copy!, 'keyward.log'), 'utf8');
      } catch {
        return '(no keyward.log)';
      }
    })();
    expect(code, `${output.slice(-3000)}\n--- keyward.log ---\n${log.slice(-3000)}`).toBe(0);
    expect(output).toContain('QUICKSTART-DONE');
    expect(output).toMatch(/^kw_[A-Za-z0-9]{65}$/m); // the first token, printed once
    expect(output).toContain('"description":"dashboard"'); // list shows the token made with it
    expect(output).toMatch(/"status":"revoked"/); // revoke answered with the revoked token
    expect(output).toMatch(/"valid":true,"code":"VALID"/); // verify with the first token
    // The server printed the admin token once, into keyward.log, not onto the user's terminal.
    expect(log.match(/^ {2}admin token: kw_/gm)).toHaveLength(1);
    expect(output).not.toContain('"context":"access"');
  }, 420_000);
});
