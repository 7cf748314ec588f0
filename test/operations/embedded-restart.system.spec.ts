import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN } from '../support/app.js';
import { freePort, type Proc, spawnService, waitForHttp } from '../support/process.js';

/**
 * `kill -9` of a service on the embedded database (PGlite), then a restart at once, as systemd or a
 * container restart policy does: the lock left behind names a process that is gone, so the next start
 * takes it over at once, and every acknowledged token is still there.
 */
const dir = mkdtempSync(join(tmpdir(), 'keyward-restart-'));
const running: Proc[] = [];
afterAll(async () => {
  await Promise.all(running.map((p) => p.stop()));
  rmSync(dir, { recursive: true, force: true });
});

function start(dataDir: string, port: number): Proc {
  const proc = spawnService({
    PORT: String(port),
    HOST: '127.0.0.1',
    KEYWARD_DATA_DIR: dataDir,
    KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN,
    LOG_LEVEL: 'info',
  });
  running.push(proc);
  return proc;
}

async function createToken(base: string): Promise<string> {
  const res = await fetch(`${base}/publisher.v1/api-token/create`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ access: 'read', description: 'before the crash' }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { id: string }).id;
}

describe('embedded database after SIGKILL', () => {
  it('the restart takes the dead process’s lock over at once and serves every acknowledged token', async () => {
    const dataDir = join(dir, 'data');
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const first = start(dataDir, port);
    await waitForHttp(`${base}/health/ready`, first, 120_000);
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(await createToken(base));
    const lock = JSON.parse(readFileSync(`${dataDir}.pid`, 'utf8')) as { pid: number; processStart: string | null };
    expect(lock.pid).toBe(first.child.pid);

    first.child.kill('SIGKILL');
    await first.exited;
    expect(existsSync(`${dataDir}.pid`)).toBe(true); // nobody cleaned up: the crash left it

    const restartedAt = Date.now();
    const second = start(dataDir, port);
    await waitForHttp(`${base}/health/ready`, second, 120_000);
    const servingAfterMs = Date.now() - restartedAt;
    console.log(`embedded restart after SIGKILL served /health/ready after ${servingAfterMs} ms`);
    // The lock was taken over on the first attempt, not after a staleness timeout.
    expect(second.output()).toMatch(new RegExp(`took over the lock of .*process ${first.child.pid} is gone`));
    expect(second.output()).not.toMatch(/in use by another Keyward process/);
    const owner = JSON.parse(readFileSync(`${dataDir}.pid`, 'utf8')) as { pid: number };
    expect(owner.pid).toBe(second.child.pid);

    const list = await fetch(`${base}/publisher.v1/api-token/list`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    const listed = ((await list.json()) as { data: Array<{ id: string }> }).data.map((t) => t.id);
    for (const id of ids) expect(listed).toContain(id);

    // A second live process on the same directory is still refused, naming the owner's PID.
    const third = start(dataDir, await freePort());
    expect(await third.exited).not.toBe(0);
    expect(third.stderr()).toContain(`PID ${second.child.pid}`);

    await second.stop();
    expect(existsSync(`${dataDir}.pid`)).toBe(false); // a clean stop releases it
  }, 300_000);
});
