/**
 * A Go client written the way Calyptia Cloud's Go client is (its types, request shapes, error decoding
 * and Link paging; standard library only, test/fixtures/calyptia-go/) is built with the machine's Go toolchain
 * and run against the real app. Skipped when no `go` is installed (.ci/run installs Debian's golang-go).
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, client, useApp } from '../support/app.js';
import { createProject } from '../support/projects.js';

const run = promisify(execFile);
const SOURCE = resolve(dirname(fileURLToPath(import.meta.url)), '../fixtures/calyptia-go');

function hasGo(): boolean {
  try {
    execFileSync('go', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const GO = hasGo();

describe.skipIf(!GO)('Calyptia-style Go client (skipped where no Go toolchain is installed)', () => {
  const t = useApp();
  let work: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'keyward-go-'));
  });
  afterAll(async () => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('builds offline and replays create, list with Link paging, get, update with nulls, errors, delete', async () => {
    const env = {
      ...process.env,
      GOCACHE: join(work, 'cache'),
      GOPATH: join(work, 'gopath'),
      GOFLAGS: '-mod=mod',
      GOPROXY: 'off',
      CGO_ENABLED: '0',
    };
    const bin = join(work, 'calyptiago');
    // Asynchronously: the app answers from this very process.
    await run('go', ['build', '-o', bin, '.'], { cwd: SOURCE, env });
    const project = await createProject(client(t.url));
    const out = await run(bin, [], {
      env: { ...env, KEYWARD_URL: t.url, KEYWARD_TOKEN: ADMIN_TOKEN, PROJECT_ID: project.id },
      timeout: 120_000,
    }).catch((e: { stdout?: string; stderr?: string; message: string }) => {
      throw new Error(`the Go client failed: ${e.stdout ?? ''}${e.stderr ?? ''}${e.message}`);
    });
    expect(out.stdout).toContain('ok Tokens (3 pages)');
    expect(out.stdout.trim().split('\n').pop()).toBe('PASS');
  }, 180_000);
});
