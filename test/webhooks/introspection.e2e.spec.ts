/**
 * `POST /oauth2/introspect` (RFC 7662) through an unmodified third-party OAuth client library
 * (`oauth4webapi`) against the real app on loopback, plus the protocol's edges over plain HTTP.
 */
import * as oauth from 'oauth4webapi';
import { beforeAll, describe, expect, it } from 'vitest';
import { TokenCodec } from '../../src/verification/token-codec.js';
import { useApp } from '../support/app.js';
import { createProject, createProjectToken } from '../support/projects.js';

describe('POST /oauth2/introspect', () => {
  const t = useApp();
  const api = t.api;
  let gateway: string;
  let as: oauth.AuthorizationServer;
  const rp: oauth.Client = { client_id: 'gateway' };

  /**
   * What the library reports for `token`, the gateway authenticating with its Keyward token in
   * `X-API-Key` (the library keeps `Authorization` for OAuth client authentication).
   */
  async function introspect(token: string, callerToken = gateway): Promise<oauth.IntrospectionResponse> {
    const response = await oauth.introspectionRequest(as, rp, oauth.None(), token, {
      [oauth.allowInsecureRequests]: true,
      headers: { 'x-api-key': callerToken },
    });
    return oauth.processIntrospectionResponse(as, rp, response);
  }

  const created = async (body: Record<string, unknown>) => {
    const res = await api.post('/auth/tokens', body);
    expect(res.status, res.text).toBe(201);
    return res.body as { id: string; token: string; expires_at: string | null };
  };

  beforeAll(async () => {
    gateway = (await created({ ttl: '2h', permissions: ['read:token'] })).token;
    as = { issuer: t.url, introspection_endpoint: `${t.url}/oauth2/introspect` };
  });

  it('describes an active token: active, client_id, exp, iat, token_type (no scope while it has none)', async () => {
    const before = Math.floor(Date.now() / 1000);
    const live = await created({ ttl: '1h', permissions: ['read:project'] });
    const answer = await introspect(live.token);
    expect(answer).toMatchObject({ active: true, client_id: live.id, token_type: 'Bearer' });
    expect(answer.exp).toBe(Math.floor(Date.parse(live.expires_at!) / 1000));
    expect(answer.iat).toBeGreaterThanOrEqual(before - 1);
    expect(answer.iat).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
    expect(answer.scope).toBeUndefined();
    expect(JSON.stringify(answer)).not.toContain(live.token);
  });

  it('anything not valid is {"active": false} and nothing more', async () => {
    const revoked = await created({ ttl: '1h' });
    expect((await api.post('/api-token/revoke', { id: revoked.id })).status).toBe(200);
    const disabled = await created({ ttl: '1h' });
    expect((await api.post('/api-token/disable', { id: disabled.id })).status).toBe(200);
    const expired = await created({ ttl: '1s' });
    await new Promise((r) => setTimeout(r, 1100));
    const p = await createProject(api);
    const elsewhere = await createProjectToken(api, p.id, ['read:*']);
    const q = await createProject(api);
    const confined = (await created({ ttl: '1h', permissions: ['read:token'], projects: [q.id] })).token;
    const cases: Array<[string, string, string?]> = [
      ['garbage', 'not a token'],
      ['unknown', t.app.get(TokenCodec).generate().token],
      ['revoked', revoked.token],
      ['disabled', disabled.token],
      ['expired', expired.token],
      ["outside the caller's projects", elsewhere.token, confined],
    ];
    for (const [label, token, caller] of cases) {
      const res = await fetch(`${t.url}/oauth2/introspect`, {
        method: 'POST',
        headers: { authorization: `Bearer ${caller ?? gateway}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token }).toString(),
      });
      expect(res.status, label).toBe(200);
      expect(await res.json(), label).toEqual({ active: false });
      expect((await introspect(token, caller ?? gateway)).active, label).toBe(false);
    }
  });

  it('does not consume a single-use token', async () => {
    const once = await created({ ttl: '1h', remove_on_use: true });
    expect((await introspect(once.token)).active).toBe(true);
    expect((await introspect(once.token)).active).toBe(true);
    expect((await api.get('/v1/projects', { token: once.token })).status).toBe(200);
    expect((await introspect(once.token)).active).toBe(false);
  });

  it('needs a caller holding read:token (401 without, 403 with less)', async () => {
    const body = new URLSearchParams({ token: gateway }).toString();
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    expect((await fetch(`${t.url}/oauth2/introspect`, { method: 'POST', headers: form, body })).status).toBe(401);
    const weak = (await created({ ttl: '1h', permissions: ['read:project'] })).token;
    const res = await fetch(`${t.url}/oauth2/introspect`, {
      method: 'POST',
      headers: { ...form, authorization: `Bearer ${weak}` },
      body,
    });
    expect(res.status).toBe(403);
  });

  it('takes form bodies (and JSON); refuses a missing or repeated token with 400; other routes stay JSON-only', async () => {
    const auth = { authorization: `Bearer ${gateway}` };
    const post = (body: string, type: string, path = '/oauth2/introspect') =>
      api.call('POST', path, { raw: body, token: gateway, headers: { ...auth, 'content-type': type } });
    expect((await post(JSON.stringify({ token: gateway }), 'application/json')).body.active).toBe(true);
    expect((await post('token_type_hint=access_token', 'application/x-www-form-urlencoded')).status).toBe(400);
    expect((await post(`token=a&token=${gateway}`, 'application/x-www-form-urlencoded')).status).toBe(400);
    const elsewhere = await post('url=x', 'application/x-www-form-urlencoded', '/v1/webhooks');
    expect(elsewhere.status).toBe(415);
    expect(elsewhere.body.error.code).toBe('unsupported_media_type');
  });
});
