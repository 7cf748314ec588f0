/**
 * Leaked-token reports: `POST /v1/tokens/revoke-leaked` without a credential. Valid tokens are revoked
 * with their tree, audited and announced; the answer is the same for any strings; well-formed garbage
 * costs no argon2; reports are limited per address.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeakedTokensService } from '../../src/leaks/leaked-tokens.service.js';
import { PasswordHasher } from '../../src/verification/password-hasher.js';
import { TokenCodec } from '../../src/verification/token-codec.js';
import { WebhookEventsService } from '../../src/webhooks/webhook-events.service.js';
import { client, startApp, useApp } from '../support/app.js';
import { Receiver } from './receiver.js';

const PATH = '/v1/tokens/revoke-leaked';

describe('POST /v1/tokens/revoke-leaked', () => {
  const t = useApp({ KEYWARD_WEBHOOK_POLL_INTERVAL: '50ms', KEYWARD_WEBHOOK_EXPIRY_SCAN: 'off' });
  const api = t.api;
  let receiver: Receiver;

  const settle = async () => {
    await t.app.get(LeakedTokensService).settled();
    await t.app.get(WebhookEventsService).settled();
  };
  const token = async (body: Record<string, unknown>, as?: string) => {
    const res = await api.post('/api-token/create', body, as ? { token: as } : {});
    expect(res.status, res.text).toBe(200);
    return res.body as { id: string; token: string };
  };
  const status = async (id: string) =>
    (await api.post('/api-token/list', {})).body.data.find((r: { id: string }) => r.id === id)?.status;

  beforeAll(async () => {
    receiver = await Receiver.start();
    const hook = await api.post('/v1/webhooks', { url: receiver.url, events: ['token.leaked', 'token.revoked'] });
    receiver.secret = hook.body.secret;
  });
  afterAll(async () => {
    await receiver?.close();
  });

  it('revokes a reported token and its tree, audits and announces it; the answer says nothing', async () => {
    const parent = await token({ access: 'write', description: 'leaked' });
    const child = await token({ access: 'read' }, parent.token);
    const bystander = await token({ access: 'read' });
    const codec = t.app.get(TokenCodec);
    const source = 'https://gist.example.com/someone/123';

    const withValid = await api.post(
      PATH,
      { tokens: [parent.token, 'not-a-token', codec.generate().token], source_url: source },
      { token: null },
    );
    const allGarbage = await api.post(
      PATH,
      { tokens: ['x', codec.generate().token, codec.generate().token], source_url: source },
      { token: null },
    );
    expect(withValid.status).toBe(202);
    expect(allGarbage.status).toBe(202);
    expect(withValid.text).toBe(allGarbage.text);
    expect(withValid.body).toEqual({ received: 3 });
    await settle();

    expect(await status(parent.id)).toBe('revoked');
    expect(await status(child.id)).toBe('revoked');
    expect(await status(bystander.id)).not.toBe('revoked');
    expect((await api.get('/v1/projects', { token: child.token })).status).toBe(401);

    const audit = await api.get('/v1/audit?action=token.leaked');
    const root = audit.body.find((e: { targetId: string }) => e.targetId === parent.id);
    expect(root).toMatchObject({ actor: 'anonymous', clientAddress: '127.0.0.1' });
    expect(root.details).toMatchObject({ source_url: source, reporter_address: '127.0.0.1', cascade: 1 });
    expect(audit.body.find((e: { targetId: string }) => e.targetId === child.id).details).toMatchObject({
      via: parent.id,
    });
    expect(audit.text).not.toContain(parent.token);

    await receiver.until(() => receiver.of('token.leaked').length >= 1 && receiver.of('token.revoked').length >= 1);
    const leaked = receiver.of('token.leaked')[0].verified!.data;
    expect(leaked).toMatchObject({ source_url: source, reporter_address: '127.0.0.1', reason: 'leaked' });
    expect(leaked.token.id).toBe(parent.id);
    expect(leaked.descendants.map((d: { id: string }) => d.id)).toEqual([child.id]);
    expect(receiver.of('token.revoked')[0].verified!.data.reason).toBe('leaked');
    expect(receiver.calls.every((c) => !c.body.includes(parent.token))).toBe(true);
  });

  it('well-formed garbage costs no argon2', async () => {
    const hasher = t.app.get(PasswordHasher);
    const codec = t.app.get(TokenCodec);
    const before = hasher.stats.verifies;
    const res = await api.post(
      PATH,
      { tokens: Array.from({ length: 100 }, () => codec.generate().token) },
      { token: null },
    );
    expect(res.status).toBe(202);
    await settle();
    expect(hasher.stats.verifies).toBe(before);
  });

  it('refuses malformed reports with 400', async () => {
    for (const body of [
      {},
      { tokens: [] },
      { tokens: 'kw_x' },
      { tokens: Array.from({ length: 101 }, (_, i) => `s${i}`) },
      { tokens: ['a'], source_url: 'javascript:alert(1)' },
      { tokens: [''] },
      { tokens: [1] },
    ]) {
      const res = await api.post(PATH, body, { token: null });
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(400);
    }
  });

  it('any list of strings gets 202 or 400, never revokes an unreported token, never a 500', async () => {
    const keep = await token({ access: 'read' });
    await fc.assert(
      fc.asyncProperty(fc.array(fc.string({ maxLength: 80 }), { minLength: 0, maxLength: 8 }), async (tokens) => {
        const res = await api.post(PATH, { tokens }, { token: null });
        expect([202, 400]).toContain(res.status);
        if (res.status === 202) expect(res.body).toEqual({ received: tokens.length });
      }),
      { numRuns: 40 },
    );
    await settle();
    expect(await status(keep.id)).not.toBe('revoked');
  });

  it('limits reported strings per address (429 with Retry-After)', async () => {
    const limited = await startApp({ KEYWARD_LEAK_REPORT_LIMIT: '5', KEYWARD_WEBHOOK_POLL_INTERVAL: 'off' });
    try {
      const api2 = client(limited.url);
      expect((await api2.post(PATH, { tokens: ['a', 'b', 'c', 'd', 'e'] }, { token: null })).status).toBe(202);
      const refused = await api2.post(PATH, { tokens: ['f'] }, { token: null });
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(refused.body.error.code).toBe('rate_limited');
    } finally {
      await limited.close();
    }
  });
});
