import { describe, expect, it } from 'vitest';
import { envelopeOf, useApp } from '../support/app.js';
import { TEST_DB_MODE } from '../support/db.js';
import { findPgBin, usePgCluster } from '../support/pg-cluster.js';

async function until<T>(
  probe: () => Promise<T>,
  done: (v: T) => boolean,
  what: string,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe.skipIf(TEST_DB_MODE === 'pglite' || !findPgBin())(
  'probes with a PostgreSQL server of their own, stopped and started again',
  () => {
    const pg = usePgCluster();
    const t = useApp(() => ({ KEYWARD_CLEANUP_INTERVAL: 'off', DATABASE_URL: pg().url() }));

    it('ready answers 503 while the database is down, live stays 200, and ready recovers', async () => {
      const probes = t.api;
      expect((await probes.get('/health/ready', { token: null })).status).toBe(200);
      await pg().stop('immediate');
      const down = await until(
        () => probes.get('/health/ready', { token: null }),
        (r) => r.status === 503,
        'ready to answer 503',
      );
      const error = envelopeOf(down);
      expect(error.code).toBe('service_unavailable');
      expect(error.data).toMatchObject({ status: 'error', error: { database: { status: 'down' } } });
      expect((await probes.get('/health/live', { token: null })).status).toBe(200);

      await pg().start();
      const up = await until(
        () => probes.get('/health/ready', { token: null }),
        (r) => r.status === 200,
        'ready to answer 200 again',
      );
      expect(up.body.details.listener).toMatchObject({ status: 'up', state: 'connected' });
    });
  },
);
