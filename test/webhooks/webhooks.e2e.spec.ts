/**
 * Webhooks over real HTTP: endpoints registered through the API, token events delivered to a local
 * receiver that checks every signature with the `standardwebhooks` package, retries with backoff, the
 * delivery log, expiry reminders sent once per lead time, and deliveries that survive a restart.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { DatabaseService } from '../../src/database/database.service.js';
import { WebhookEventsService } from '../../src/webhooks/webhook-events.service.js';
import { ADMIN_TOKEN, client, type Client, startApp, type TestApp, useApp } from '../support/app.js';
import { createProject, createProjectToken } from '../support/projects.js';
import { Receiver } from './receiver.js';

/** Fast retries, no scheduled expiry scan (the tests run it), quick polling. */
const ENV = {
  KEYWARD_WEBHOOK_RETRY_BASE: '50ms',
  KEYWARD_WEBHOOK_RETRY_MAX_DELAY: '200ms',
  KEYWARD_WEBHOOK_POLL_INTERVAL: '50ms',
  KEYWARD_WEBHOOK_EXPIRY_SCAN: 'off',
};

async function register(api: Client, receiver: Receiver, events: string[], token = ADMIN_TOKEN) {
  const res = await api.post('/v1/webhooks', { url: receiver.url, events }, { token });
  expect(res.status, res.text).toBe(201);
  receiver.secret = res.body.secret;
  return res.body as { id: string; secret: string };
}

async function publisherToken(api: Client, body: Record<string, unknown>, token = ADMIN_TOKEN) {
  const res = await api.post('/api-token/create', body, { token });
  expect(res.status, res.text).toBe(200);
  return res.body as { id: string; token: string };
}

describe('webhooks', () => {
  const t = useApp(ENV);
  const api = t.api;
  const receivers: Receiver[] = [];
  const receiver = async () => {
    const r = await Receiver.start();
    receivers.push(r);
    return r;
  };

  afterAll(async () => {
    await Promise.all(receivers.map((r) => r.close()));
  });

  it('registers an endpoint, shows its secret once and never again', async () => {
    const r = await receiver();
    const hook = await register(api, r, ['token.created']);
    expect(hook.secret).toMatch(/^whsec_[A-Za-z0-9+/=]{40,}$/);
    const list = await api.get('/v1/webhooks');
    expect(list.status).toBe(200);
    expect(list.text).not.toContain(hook.secret);
    expect(list.body.map((w: { id: string }) => w.id)).toContain(hook.id);
    const one = await api.get(`/v1/webhooks/${hook.id}`);
    expect(one.body).toMatchObject({ id: hook.id, url: r.url, events: ['token.created'], projects: null });
    expect(one.text).not.toContain(hook.secret);
  });

  it('announces token.revoked for every token a project deletion revokes', async () => {
    const r = await receiver();
    await register(api, r, ['token.revoked']);
    const project = await createProject(api);
    const strong = await createProjectToken(api, project.id, ['create:*', 'read:*']);
    const below = await createProjectToken(api, project.id, ['read:token'], { token: strong.token });
    expect((await api.delete(`/v1/projects/${project.id}`)).status).toBe(200);
    await t.app.get(WebhookEventsService).settled();
    await r.until(() => r.of('token.revoked').length >= 2);
    const announced = r.of('token.revoked').map((c) => c.verified!.data.token.id as string);
    expect(announced.sort()).toEqual([strong.id, below.id].sort());
    expect(r.calls.every((c) => c.verified !== null)).toBe(true);
  });

  it('refuses bad endpoints and unknown events with 400', async () => {
    for (const body of [
      { url: 'ftp://example.com/x', events: ['token.created'] },
      { url: 'not a url', events: ['token.created'] },
      { url: 'http://127.0.0.1:1/x', events: [] },
      { url: 'http://127.0.0.1:1/x', events: ['token.exploded'] },
      { url: 'http://127.0.0.1:1/x', events: ['token.created'], secret: 'mine' },
    ]) {
      const res = await api.post('/v1/webhooks', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
  });

  it('delivers token.created, token.disabled and token.revoked (with descendants), signed, without secrets', async () => {
    const r = await receiver();
    await register(api, r, ['token.created', 'token.revoked', 'token.disabled']);
    const parent = await publisherToken(api, { access: 'write', description: 'parent' });
    const child = await publisherToken(api, { access: 'read' }, parent.token);
    await r.until(() => r.of('token.created').length >= 2);

    expect((await api.post('/api-token/disable', { id: child.id })).status).toBe(200);
    await r.until(() => r.of('token.disabled').length >= 1);
    expect(r.of('token.disabled')[0].verified!.data.token.id).toBe(child.id);

    expect((await api.post('/api-token/revoke', { id: parent.id })).status).toBe(200);
    await r.until(() => r.of('token.revoked').length >= 1);
    const revoked = r.of('token.revoked')[0].verified!;
    expect(revoked.data.token.id).toBe(parent.id);
    expect(revoked.data.reason).toBe('revoked');
    expect(revoked.data.descendants.map((d: { id: string }) => d.id)).toEqual([child.id]);
    expect(revoked.data.actor).toBe('admin');

    const created = r.of('token.created').map((c) => c.verified!.data.token.id);
    expect(created).toEqual(expect.arrayContaining([parent.id, child.id]));
    for (const call of r.calls) {
      expect(call.verified, 'every delivery verifies with the standardwebhooks package').not.toBeNull();
      expect(call.id).toMatch(/^msg_/);
      for (const secret of [parent.token, child.token, r.secret, ADMIN_TOKEN]) expect(call.body).not.toContain(secret);
      expect(call.body).not.toMatch(/argon2|secret_hash|lookup/);
    }
  });

  it('a forged or stale signature does not verify (the receiver really checks)', async () => {
    const r = await receiver();
    await register(api, r, ['token.created']);
    await publisherToken(api, { access: 'read' });
    await r.until(() => r.calls.length >= 1);
    const good = r.calls[0];
    const { Webhook } = await import('standardwebhooks');
    const headers = { 'webhook-id': good.id, 'webhook-timestamp': good.timestamp, 'webhook-signature': good.signature };
    expect(() => new Webhook(r.secret).verify(good.body, headers)).not.toThrow();
    expect(() => new Webhook(r.secret).verify(good.body.replace('}', ' }'), headers)).toThrow();
    const other = 'whsec_' + Buffer.alloc(32, 7).toString('base64');
    expect(() => new Webhook(other).verify(good.body, headers)).toThrow();
  });

  it('retries an endpoint that fails five times, with the same webhook-id, and logs it', async () => {
    const r = await receiver();
    r.status = (n) => (n <= 5 ? 500 : 204);
    const hook = await register(api, r, ['token.created']);
    const token = await publisherToken(api, { access: 'read' });
    await r.until(() => r.calls.length >= 6);
    expect(new Set(r.calls.map((c) => c.id)).size).toBe(1);
    expect(r.calls.every((c) => c.verified?.data.token.id === token.id)).toBe(true);
    const stamps = r.calls.map((c) => Number(c.timestamp));
    expect([...stamps].sort((a, b) => a - b)).toEqual(stamps);

    let log: any[] = [];
    for (;;) {
      log = (await api.get(`/v1/webhooks/${hook.id}/deliveries`)).body;
      if (log[0]?.status === 'succeeded') break;
      await new Promise((res) => setTimeout(res, 20));
    }
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({
      id: r.calls[0].id,
      event_type: 'token.created',
      status: 'succeeded',
      attempts: 6,
      last_status_code: 204,
      last_error: null,
      next_attempt_at: null,
    });
    expect(log[0].payload.data.token.id).toBe(token.id);
    const failed = await api.get(`/v1/webhooks/${hook.id}/deliveries?status=failed`);
    expect(failed.body).toEqual([]);
  });

  it('gives up after the retry window and marks the delivery failed', async () => {
    const t2 = await startApp({ ...ENV, KEYWARD_WEBHOOK_RETRY_WINDOW: '1s' });
    try {
      const api2 = client(t2.url);
      const r = await receiver();
      r.status = () => 503;
      const hook = await register(api2, r, ['token.created']);
      await publisherToken(api2, { access: 'read' });
      let log: any[] = [];
      for (;;) {
        log = (await api2.get(`/v1/webhooks/${hook.id}/deliveries`)).body;
        if (log[0]?.status === 'failed') break;
        await new Promise((res) => setTimeout(res, 50));
      }
      expect(log[0]).toMatchObject({ status: 'failed', last_status_code: 503, last_error: 'HTTP 503' });
      expect(log[0].attempts).toBeGreaterThan(1);
      const seen = r.calls.length;
      await new Promise((res) => setTimeout(res, 300));
      expect(r.calls.length).toBe(seen);
    } finally {
      await t2.close();
    }
  });

  it('rotating the secret signs with both secrets during the grace, then only the new one', async () => {
    const r = await receiver();
    const hook = await register(api, r, ['token.created']);
    const old = r.secret;
    const rotated = await api.post(`/v1/webhooks/${hook.id}/rotate-secret`, { grace: '1h' });
    expect(rotated.status, rotated.text).toBe(200);
    expect(rotated.body.secret).not.toBe(old);
    expect(rotated.body.previous_secret_expires_at).not.toBeNull();
    r.secret = rotated.body.secret;
    await publisherToken(api, { access: 'read' });
    await r.until(() => r.calls.length >= 1);
    const { Webhook } = await import('standardwebhooks');
    const c = r.calls[0];
    const headers = { 'webhook-id': c.id, 'webhook-timestamp': c.timestamp, 'webhook-signature': c.signature };
    expect(c.signature.split(' ')).toHaveLength(2);
    expect(() => new Webhook(old).verify(c.body, headers)).not.toThrow();
    expect(() => new Webhook(r.secret).verify(c.body, headers)).not.toThrow();

    const again = await api.post(`/v1/webhooks/${hook.id}/rotate-secret`, {});
    expect(again.body.previous_secret_expires_at).toBeNull();
    r.secret = again.body.secret;
    await publisherToken(api, { access: 'read' });
    await r.until(() => r.calls.length >= 2);
    const d = r.calls[1];
    expect(d.verified).not.toBeNull();
    expect(d.signature.split(' ')).toHaveLength(1);
  });

  it('deleting an endpoint stops its deliveries; an unknown one is 404', async () => {
    const r = await receiver();
    const hook = await register(api, r, ['token.created']);
    expect((await api.delete(`/v1/webhooks/${hook.id}`)).status).toBe(204);
    expect((await api.delete(`/v1/webhooks/${hook.id}`)).status).toBe(404);
    expect((await api.get(`/v1/webhooks/${hook.id}/deliveries`)).status).toBe(404);
    await publisherToken(api, { access: 'read' });
    await t.app.get(WebhookEventsService).settled();
    await new Promise((res) => setTimeout(res, 200));
    expect(r.calls).toHaveLength(0);
  });

  it("an endpoint registered by a project-confined caller hears only about its projects' tokens", async () => {
    const p = await createProject(api);
    const q = await createProject(api);
    const manager = await createProjectToken(api, p.id, ['manage:webhook', 'create:token']);
    const r = await receiver();
    const hook = await register(api, r, ['token.created'], manager.token);
    expect((await api.get(`/v1/webhooks/${hook.id}`, { token: manager.token })).body.projects).toEqual([p.id]);
    const other = await createProjectToken(api, q.id, ['read:*']);
    const mine = await createProjectToken(api, p.id, ['read:*']);
    await r.until(() => r.calls.length >= 1);
    await t.app.get(WebhookEventsService).settled();
    await new Promise((res) => setTimeout(res, 200));
    expect(r.calls.map((c) => c.verified!.data.token.id)).toEqual([mine.id]);
    expect(r.calls[0].body).not.toContain(other.id);
    // An endpoint of every project is invisible to the confined caller.
    const wide = await register(api, await receiver(), ['token.created']);
    expect((await api.get(`/v1/webhooks/${wide.id}`, { token: manager.token })).status).toBe(404);
  });

  describe('expiry reminders', () => {
    const sql = () => t.app.get(DatabaseService).sql;
    const scan = () => t.app.get(WebhookEventsService).scan();

    it('sends token.expiring once per lead time (7 days, 1 day), then token.expired once', async () => {
      const r = await receiver();
      await register(api, r, ['token.expiring', 'token.expired']);
      const token = await publisherToken(api, {
        access: 'read',
        expires_at: new Date(Date.now() + 3 * 86400_000).toISOString(),
      });
      await sql().query(`UPDATE api_tokens SET created_at = now() - interval '30 days' WHERE id = $1`, [token.id]);
      // A short-lived token (lifetime under both leads) gets no reminder, only its expiry.
      const brief = await publisherToken(api, {
        access: 'read',
        expires_at: new Date(Date.now() + 3600_000).toISOString(),
      });

      await scan();
      await r.until(() => r.of('token.expiring').length >= 1);
      await scan();
      const first = r.of('token.expiring').map((c) => c.verified!.data);
      expect(first).toEqual([
        expect.objectContaining({ lead_seconds: 7 * 86400, token: expect.objectContaining({ id: token.id }) }),
      ]);

      await sql().query(`UPDATE api_tokens SET expires_at = now() + interval '12 hours' WHERE id = $1`, [token.id]);
      await scan();
      await r.until(() => r.of('token.expiring').length >= 2);
      await scan();
      expect(r.of('token.expiring').map((c) => c.verified!.data.lead_seconds)).toEqual([7 * 86400, 86400]);

      await sql().query(`UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = ANY($1::uuid[])`, [
        [token.id, brief.id],
      ]);
      await scan();
      await r.until(() => r.of('token.expired').length >= 2);
      await scan();
      await new Promise((res) => setTimeout(res, 200));
      expect(
        r
          .of('token.expired')
          .map((c) => c.verified!.data.token.id)
          .sort(),
      ).toEqual([token.id, brief.id].sort());
      expect(r.of('token.expiring')).toHaveLength(2);
    });

    it('announces a token deleted after it expired before the scan saw it', async () => {
      const r = await receiver();
      await register(api, r, ['token.expired']);
      const token = await publisherToken(api, {
        access: 'read',
        expires_at: new Date(Date.now() + 3600_000).toISOString(),
      });
      await sql().query(`UPDATE api_tokens SET expires_at = now() - interval '1 minute' WHERE id = $1`, [token.id]);
      await sql().query(`DELETE FROM api_tokens WHERE id = $1`, [token.id]);
      await scan();
      await r.until(() => r.of('token.expired').length >= 1);
      const data = r.of('token.expired')[0].verified!.data;
      expect(data.token).toMatchObject({ id: token.id, kind: 'global', permissions: ['read:*'] });
      await scan();
      await new Promise((res) => setTimeout(res, 200));
      expect(r.of('token.expired')).toHaveLength(1);
    });
  });
});

describe('webhook deliveries survive a restart', () => {
  it('a delivery queued before the app stopped is delivered by the next start, same webhook-id', async () => {
    const r = await Receiver.start();
    let a: TestApp | undefined = await startApp({ ...ENV, KEYWARD_WEBHOOK_RETRY_BASE: '200ms' });
    const db = a.db;
    let b: TestApp | undefined;
    try {
      const api = client(a.url);
      r.status = () => 503;
      const hook = await register(api, r, ['token.created']);
      await publisherToken(api, { access: 'read' });
      await r.until(() => r.calls.length >= 1);
      await a.app.close();
      a = undefined;
      const before = r.calls.length;
      r.status = () => 200;
      b = await startApp(ENV, db);
      await r.until(() => r.calls.length > before && r.calls.at(-1)!.verified !== null);
      expect(new Set(r.calls.map((c) => c.id)).size).toBe(1);
      const log = await client(b.url).get(`/v1/webhooks/${hook.id}/deliveries`);
      let entry = log.body[0];
      for (; entry.status !== 'succeeded';) {
        await new Promise((res) => setTimeout(res, 20));
        entry = (await client(b.url).get(`/v1/webhooks/${hook.id}/deliveries`)).body[0];
      }
      expect(entry.attempts).toBe(r.calls.length);
    } finally {
      await a?.close();
      await b?.app.close();
      await db.drop();
      await r.close();
    }
  });
});
