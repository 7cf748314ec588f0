import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, TEST_DB_MODE, type TestDatabase } from '../support/db.js';
import { freePort, MAIN, spawnService, waitForHttp } from '../support/process.js';

/** The built service started as `node dist/main.js`, the way `npm start` runs it. */
const dir = mkdtempSync(join(tmpdir(), 'keyward-proc-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(() => {
  if (!existsSync(MAIN)) throw new Error('dist/main.js is missing: `npm test` builds it first (npm run build)');
});

describe('the service process', () => {
  it('starts on embedded PGlite with no configuration, hands out its admin token, and denies by default', async () => {
    const port = await freePort();
    const dataDir = join(dir, 'first');
    const p = spawnService({ PORT: String(port), KEYWARD_DATA_DIR: dataDir });
    try {
      await waitForHttp(`http://127.0.0.1:${port}/api/v1/public/ping`, p, 90_000);
      const res = await fetch(`http://127.0.0.1:${port}/api-token/list`, { method: 'POST' });
      expect(res.status).toBe(401);
      expect(p.output()).toContain('embedded PGlite');
      expect(p.output()).toMatch(/admin token/);

      // A second process on the same directory is refused, clearly, and the first keeps serving.
      const second = spawnService({ PORT: String(await freePort()), KEYWARD_DATA_DIR: dataDir });
      // (the lock refuses it before the database is opened)
      expect(await second.exited).toBe(1);
      expect(second.output()).toMatch(/in use by another Keyward process/);
      expect((await fetch(`http://127.0.0.1:${port}/api/v1/public/ping`)).status).toBe(200);
    } finally {
      await p.stop();
    }
  });

  it('refuses to start on invalid configuration, naming the variable', async () => {
    const p = spawnService({ KEYWARD_ADMIN_TOKEN: 'short', KEYWARD_DATA_DIR: join(dir, 'bad') });
    expect(await p.exited).toBe(1);
    expect(p.output()).toMatch(/KEYWARD_ADMIN_TOKEN: must be at least 20 characters/);
    expect(p.output()).not.toContain('short"');
  });

  describe('logs', () => {
    let db: TestDatabase | undefined;
    afterAll(async () => db?.drop());

    it('never contain a secret, even at trace level', async () => {
      const admin = 'log-test-admin-token-' + 'z'.repeat(20);
      const port = await freePort();
      const env: Record<string, string> = { PORT: String(port), KEYWARD_ADMIN_TOKEN: admin, LOG_LEVEL: 'trace' };
      if (TEST_DB_MODE === 'postgres') {
        db = await createTestDatabase();
        env.DATABASE_URL = db.url!;
      } else env.KEYWARD_DATA_DIR = join(dir, 'logs');
      const p = spawnService(env);
      const base = `http://127.0.0.1:${port}`;
      try {
        await waitForHttp(`${base}/api/v1/public/ping`, p);
        const headers = { authorization: `Bearer ${admin}`, 'content-type': 'application/json' };
        const created = (await (
          await fetch(`${base}/api-token/create`, { method: 'POST', headers, body: '{"access":"write"}' })
        ).json()) as { token: string };
        const secret: string = created.token;
        for (const h of ['authorization', 'x-token', 'x-api-key']) {
          const v = h === 'authorization' ? `Bearer ${secret}` : secret;
          await fetch(`${base}/api-token/list`, { method: 'POST', headers: { [h]: v } });
        }
        await fetch(`${base}/api-token/list`, { method: 'POST', headers: { authorization: `Bearer ${secret}x` } });
        await fetch(`${base}/api-token/create`, { method: 'POST', headers, body: '{"access":"write",' });
        await new Promise((r) => setTimeout(r, 300));
        const log = p.output();
        expect(log).toContain('/api-token/list'); // the requests were logged...
        for (const needle of [admin, secret, secret.slice(19, 62)]) expect(log).not.toContain(needle); // ...without secrets
      } finally {
        await p.stop();
      }
    });
  });
});
