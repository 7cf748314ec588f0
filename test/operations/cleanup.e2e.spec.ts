import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { SchedulerRegistry } from '@nestjs/schedule';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CleanupRepository } from '../../src/cleanup/cleanup.repository.js';
import { CLEANUP_INTERVAL_NAME, type CleanupPass, CleanupService } from '../../src/cleanup/cleanup.service.js';
import { DatabaseService } from '../../src/database/database.service.js';
import type { Prisma } from '../../src/generated/prisma/client.js';
import { client, envelopeOf, startApp, type TestApp, useApp } from '../support/app.js';
import { createTestDatabase, TEST_DB_MODE, type TestDatabase } from '../support/db.js';

const ago = (ms: number) => new Date(Date.now() - ms);
const ahead = (ms: number) => new Date(Date.now() + ms);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Setup only: writes a token row as it would look at some point of its life (not a usable secret). */
async function insert(
  t: Pick<TestApp, 'app'>,
  data: Partial<Prisma.ApiTokenUncheckedCreateInput> = {},
): Promise<string> {
  const id = randomUUID();
  await t.app.get(DatabaseService).prisma.apiToken.create({
    data: {
      id,
      lookupId: randomBytes(8).toString('hex'),
      secretHash: '$argon2id$not-a-real-hash',
      stub: 'kw_test',
      kind: 'global',
      access: 'read',
      permissions: ['read:*'],
      ...data,
    },
  });
  return id;
}

async function ids(t: Pick<TestApp, 'app'>, among: string[]): Promise<string[]> {
  const rows = await t.app
    .get(DatabaseService)
    .prisma.apiToken.findMany({ where: { id: { in: among } }, select: { id: true } });
  return rows.map((r) => r.id).sort();
}

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe('scheduled cleanup', () => {
  const t = useApp({ KEYWARD_CLEANUP_INTERVAL: '1s', KEYWARD_REVOKED_RETENTION: '1d' });

  it('removes expired, used single-use and long-revoked tokens on its own, and keeps the rest', async () => {
    const api = client(t.url);
    // Through the API: one token that expires in about two seconds, one that never expires.
    const soon = new Date(Math.ceil((Date.now() + 2_000) / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const expiring = await api.post('/api-token/create', { access: 'read', expires_at: soon });
    const lasting = await api.post('/api-token/create', { access: 'read' });
    expect(expiring.status, expiring.text).toBe(200);
    expect(lasting.status, lasting.text).toBe(200);

    const doomed = {
      expired: await insert(t, { expiresAt: ago(60_000) }),
      used: await insert(t, { removeOnUse: true, usedAt: ago(1_000) }),
      usedAndExpired: await insert(t, { removeOnUse: true, usedAt: ago(HOUR), expiresAt: ago(1_000) }),
      revokedLongAgo: await insert(t, { revokedAt: ago(2 * DAY) }),
      revokedAndExpiredLongAgo: await insert(t, { revokedAt: ago(3 * DAY), expiresAt: ago(2 * DAY) }),
      viaApi: expiring.body.id as string,
    };
    const kept = {
      valid: await insert(t, { expiresAt: ahead(DAY) }),
      noExpiry: lasting.body.id as string,
      singleUseUnused: await insert(t, { removeOnUse: true }),
      usedButNotSingleUse: await insert(t, { lastUsedAt: ago(1_000) }),
      revokedRecently: await insert(t, { revokedAt: ago(HOUR) }),
      // Kept for audit even though it also expired: revocation retention wins.
      revokedRecentlyAndExpired: await insert(t, { revokedAt: ago(HOUR), expiresAt: ago(1_000) }),
      graceOver: await insert(t, { previousSecretHash: 'old', previousExpiresAt: ago(1_000) }),
      graceRunning: await insert(t, { previousSecretHash: 'old', previousExpiresAt: ahead(HOUR) }),
    };
    const all = [...Object.values(doomed), ...Object.values(kept)];

    await until(
      'the job to remove the expired rows',
      async () => (await ids(t, all)).length === Object.keys(kept).length,
    );
    expect(await ids(t, all)).toEqual(Object.values(kept).sort());

    const prisma = t.app.get(DatabaseService).prisma;
    await until('the grace leftover to be cleared', async () => {
      const row = await prisma.apiToken.findUniqueOrThrow({ where: { id: kept.graceOver } });
      return row.previousSecretHash === null;
    });
    expect(await prisma.apiToken.findUniqueOrThrow({ where: { id: kept.graceOver } })).toMatchObject({
      previousSecretHash: null,
      previousExpiresAt: null,
    });
    expect(await prisma.apiToken.findUniqueOrThrow({ where: { id: kept.graceRunning } })).toMatchObject({
      previousSecretHash: 'old',
    });

    // The survivors still work; the removed one is simply unknown now.
    expect((await api.post('/api-token/list', {}, { token: lasting.body.token })).status).toBe(200);
    const gone = await api.post('/api-token/list', {}, { token: expiring.body.token });
    expect(gone.status).toBe(401);
    expect(envelopeOf(gone).code).toBe('authentication_error');

    expect(t.app.get(SchedulerRegistry).doesExist('interval', CLEANUP_INTERVAL_NAME)).toBe(true);
    const svc = t.app.get(CleanupService);
    expect(svc.stats.ran).toBeGreaterThan(0);
    const removed = svc.history.reduce(
      (sum, p) => ({ expired: sum.expired + p.expired, used: sum.used + p.used, revoked: sum.revoked + p.revoked }),
      { expired: 0, used: 0, revoked: 0 },
    );
    // Each row is counted once, under its first reason: revoked, then expired, then used.
    expect(removed).toEqual({ expired: 3, used: 1, revoked: 2 });
  });
});

describe('runOnce', () => {
  const t = useApp({
    KEYWARD_CLEANUP_INTERVAL: 'off',
    KEYWARD_CLEANUP_BATCH_SIZE: '5',
    KEYWARD_REVOKED_RETENTION: '0',
  });

  it('removes a backlog larger than the batch size in one pass, batch by batch, and is idempotent', async () => {
    const svc = t.app.get(CleanupService);
    const backlog = await Promise.all(Array.from({ length: 23 }, () => insert(t, { expiresAt: ago(60_000) })));
    const survivor = await insert(t, {});
    const first = await svc.runOnce();
    expect(first).toMatchObject({ skipped: false, removed: 23, expired: 23, used: 0, revoked: 0, batches: 5 });
    expect(await ids(t, [...backlog, survivor])).toEqual([survivor]);
    expect(await svc.runOnce()).toMatchObject({ skipped: false, removed: 0, batches: 1 });
    expect(await ids(t, [survivor])).toEqual([survivor]);
  });

  it('removes ended rate-limit windows (failed-login counters, token rate limits), in batches, and keeps live ones', async () => {
    const prisma = t.app.get(DatabaseService).prisma;
    const now = Date.now();
    await prisma.rateLimitWindow.createMany({
      data: [
        ...Array.from({ length: 7 }, (_, i) => ({
          key: `authfail_address:203.0.113.${i}`,
          points: 3,
          expire: BigInt(now - 1000),
        })),
        { key: 'authfail_token:live', points: 2, expire: BigInt(now + 600_000) },
      ],
    });
    expect(await t.app.get(CleanupService).runOnce()).toMatchObject({ skipped: false, windowsRemoved: 7 });
    expect((await prisma.rateLimitWindow.findMany({ select: { key: true } })).map((r) => r.key)).toEqual([
      'authfail_token:live',
    ]);
  });

  it('with zero retention removes revoked tokens on the next pass', async () => {
    const revoked = await insert(t, { revokedAt: ago(1_000) });
    expect(await t.app.get(CleanupService).runOnce()).toMatchObject({ revoked: 1, removed: 1 });
    expect(await ids(t, [revoked])).toEqual([]);
  });

  it('does not start a second pass while one runs in the same instance', async () => {
    const svc = t.app.get(CleanupService);
    svc.onLocked = () => sleep(300);
    try {
      const results = await Promise.all([svc.runOnce(), svc.runOnce()]);
      expect(results.map((r) => r.skipped)).toEqual([false, true]);
      expect(results[1]).toEqual({ skipped: true, reason: 'running' });
    } finally {
      svc.onLocked = undefined;
    }
  });

  it('is not scheduled when switched off', () => {
    expect(t.app.get(SchedulerRegistry).doesExist('interval', CLEANUP_INTERVAL_NAME)).toBe(false);
  });
});

describe.skipIf(TEST_DB_MODE === 'pglite')(
  'two instances on one PostgreSQL database (not on PGlite: one process per directory)',
  () => {
    let db: TestDatabase;
    let a: TestApp;
    let b: TestApp;
    beforeAll(async () => {
      db = await createTestDatabase();
      a = await startApp({ KEYWARD_CLEANUP_INTERVAL: 'off' }, db);
      b = await startApp({ KEYWARD_CLEANUP_INTERVAL: 'off' }, db);
    });
    afterAll(async () => {
      await a?.close();
      await b?.close();
      await db?.drop();
    });

    it('skips the pass on B while A holds the lock, and runs it once A let go', async () => {
      const expired = await insert(a, { expiresAt: ago(60_000) });
      const sb = b.app.get(CleanupService);
      const held = await a.app.get(CleanupRepository).withLock(async () => {
        expect(await sb.runOnce()).toEqual({ skipped: true, reason: 'locked' });
        // A's own scheduler would get a second connection, a second session: it skips too.
        expect(await a.app.get(CleanupService).runOnce()).toEqual({ skipped: true, reason: 'locked' });
        return (await ids(b, [expired])).length;
      });
      expect(held).toEqual({ acquired: true, result: 1 });
      expect(await sb.runOnce()).toMatchObject({ skipped: false, expired: 1 });
      expect(await ids(a, [expired])).toEqual([]);
    });

    it('runs exactly one of two simultaneous passes', async () => {
      const [sa, sb] = [a.app.get(CleanupService), b.app.get(CleanupService)];
      sa.onLocked = sb.onLocked = () => sleep(300);
      try {
        await insert(a, { expiresAt: ago(60_000) });
        const results = await Promise.all([sa.runOnce(), sb.runOnce()]);
        expect(results.filter((r) => !r.skipped)).toHaveLength(1);
        expect(results.filter((r) => r.skipped)).toEqual([{ skipped: true, reason: 'locked' }]);
        expect(results.find((r) => !r.skipped)).toMatchObject({ expired: 1 });
      } finally {
        sa.onLocked = sb.onLocked = undefined;
      }
    });
  },
);

describe.skipIf(TEST_DB_MODE === 'pglite')(
  'two scheduled instances on one PostgreSQL database (not on PGlite: one process per directory)',
  () => {
    let db: TestDatabase;
    const apps: TestApp[] = [];
    beforeAll(async () => {
      db = await createTestDatabase();
      for (let i = 0; i < 2; i++) apps.push(await startApp({ KEYWARD_CLEANUP_INTERVAL: '1s' }, db));
    });
    afterAll(async () => {
      for (const app of apps) await app.close();
      await db?.drop();
    });

    it('never run a pass at the same time', async () => {
      const services = apps.map((t) => t.app.get(CleanupService));
      // Make every pass last a good part of the interval, so that unlocked passes would overlap.
      for (const s of services) s.onLocked = () => sleep(600);
      const rows = await Promise.all(Array.from({ length: 10 }, () => insert(apps[0], { expiresAt: ago(60_000) })));
      const since = Date.now();
      await until('both instances to attempt several passes', () =>
        services.every(
          (s) =>
            s.history.filter((p) => p.startedAt.getTime() >= since).length +
              s.stats.skippedLocked +
              s.stats.skippedRecent >=
            4,
        ),
      );
      for (const s of services) s.onLocked = undefined;

      const passes: CleanupPass[] = services
        .flatMap((s) => s.history)
        .sort((x, y) => x.startedAt.getTime() - y.startedAt.getTime());
      expect(passes.length).toBeGreaterThanOrEqual(2);
      for (let i = 1; i < passes.length; i++) {
        expect(passes[i].startedAt.getTime(), `pass ${i} started before pass ${i - 1} ended`).toBeGreaterThanOrEqual(
          passes[i - 1].finishedAt.getTime(),
        );
      }
      expect(passes.reduce((n, p) => n + p.expired, 0)).toBe(10);
      expect(await ids(apps[0], rows)).toEqual([]);
    });
  },
);
