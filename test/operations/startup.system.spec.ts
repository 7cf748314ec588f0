import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { processStartOf } from '../../src/database/data-dir-lock.js';
import { DIST_CLI } from '../support/build.js';
import { ADMIN_PG_URL, TEST_DB_MODE } from '../support/db.js';
import { freePort, MAIN, ROOT, spawnService } from '../support/process.js';

/**
 * Every start-up failure of `node dist/main.js` is one line on stderr naming the variable or resource,
 * with a non-zero exit code, and nothing else (no stack, no Nest banner).
 */
const dir = mkdtempSync(join(tmpdir(), 'keyward-startup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

function pgUrl(mutate: (u: URL) => void): string {
  const u = new URL(ADMIN_PG_URL);
  mutate(u);
  return u.toString();
}

async function failsWithOneLine(env: Record<string, string>, args: string[] = []): Promise<string> {
  const p = spawnService({ KEYWARD_DATA_DIR: join(dir, 'unused'), ...env }, args);
  const code = await p.exited;
  expect(code, p.output()).not.toBe(0);
  expect(code).not.toBeNull();
  const lines = p.stderr().trimEnd().split('\n');
  expect(lines, p.stderr()).toHaveLength(1);
  expect(lines[0]).toMatch(/^keyward: /);
  expect(p.output()).not.toMatch(/\n\s+at /); // no stack trace anywhere
  return lines[0];
}

describe('start-up failures', () => {
  it('invalid configuration names every bad variable, on one line', async () => {
    const line = await failsWithOneLine({ PORT: 'eighty', KEYWARD_ADMIN_TOKEN: 'short', KEYWARD_CORS_ORIGINS: 'nope' });
    expect(line).toMatch(/PORT: /);
    expect(line).toMatch(/KEYWARD_ADMIN_TOKEN: must be at least 20 characters/);
    expect(line).toMatch(/KEYWARD_CORS_ORIGINS: not an origin/);
  });

  it('a port in use is reported before the database is opened', async () => {
    const server: Server = createServer();
    const port = await new Promise<number>((resolve) =>
      server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
    );
    try {
      // The database URL points at nothing: had it been opened first, that would be the error.
      const dead = await freePort();
      const line = await failsWithOneLine({
        PORT: String(port),
        HOST: '127.0.0.1',
        DATABASE_URL: `postgresql://postgres@127.0.0.1:${dead}/keyward`,
      });
      expect(line).toBe(
        `keyward: PORT ${port} is in use (HOST 127.0.0.1): stop the process that holds it (\`lsof -i :${port}\` names it), ` +
          `or choose another port, e.g. PORT=${port + 1}`,
      );
    } finally {
      server.close();
    }
  });

  it('a refused database connection names DATABASE_URL and the address', async () => {
    const dead = await freePort();
    const line = await failsWithOneLine({
      PORT: String(await freePort()),
      DATABASE_URL: `postgresql://postgres:hunter2secret@127.0.0.1:${dead}/keyward`,
    });
    expect(line).toBe(`keyward: DATABASE_URL: connection refused at 127.0.0.1:${dead}`);
    expect(line).not.toContain('hunter2secret');
  });

  it.skipIf(TEST_DB_MODE !== 'postgres')(
    'a missing database names it (needs the PostgreSQL server: skipped on PGlite)',
    async () => {
      const line = await failsWithOneLine({
        PORT: String(await freePort()),
        DATABASE_URL: pgUrl((u) => (u.pathname = '/keyward_no_such_database')),
      });
      expect(line).toBe('keyward: DATABASE_URL: database "keyward_no_such_database" does not exist');
    },
  );

  it.skipIf(TEST_DB_MODE !== 'postgres')(
    'an unknown role names it (needs the PostgreSQL server: skipped on PGlite)',
    async () => {
      const line = await failsWithOneLine({
        PORT: String(await freePort()),
        DATABASE_URL: pgUrl((u) => (u.username = 'keyward_no_such_role')),
      });
      expect(line).toBe('keyward: DATABASE_URL: role "keyward_no_such_role" does not exist');
    },
  );

  it('an embedded data directory held by a live process is one line naming its PID', async () => {
    const dataDir = join(dir, 'locked');
    mkdirSync(dataDir, { recursive: true });
    // This test process plays the live owner.
    const owner = { pid: process.pid, processStart: processStartOf(process.pid), host: hostname(), since: 'now' };
    writeFileSync(`${dataDir}.pid`, JSON.stringify(owner));
    try {
      const line = await failsWithOneLine({
        PORT: String(await freePort()),
        KEYWARD_DATA_DIR: dataDir,
        DATABASE_URL: '',
      });
      expect(line).toMatch(/in use by another Keyward process/);
      expect(line).toContain(`PID ${process.pid}`);
    } finally {
      rmSync(`${dataDir}.pid`, { force: true });
    }
  });

  it('an unreadable tokens file is one line naming it', async () => {
    const line = await failsWithOneLine({ PORT: String(await freePort()) }, ['--tokens', join(dir, 'missing.json')]);
    expect(line).toContain('missing.json');
  });
});

describe('--version', () => {
  it('the service prints package.json version and exits 0', () => {
    expect(execFileSync(process.execPath, [MAIN, '--version'], { encoding: 'utf8' }).trim()).toBe(VERSION);
  });

  it('the CLI prints the same version', () => {
    expect(execFileSync(process.execPath, [DIST_CLI, '--version'], { encoding: 'utf8' }).trim()).toBe(VERSION);
  });
});
