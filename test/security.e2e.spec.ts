import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, client, type Client, envelopeOf, startApp, type TestApp } from './support/app.js';

/**
 * The shared security table: every protected route × every kind of bad caller, with the exact status
 * and envelope. Routes added by later features are appended to ROUTES.
 */
interface Route {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  path: string;
  body?: unknown;
  /** Needs write access: a read token gets 403. */
  write: boolean;
}

const ROUTES: Route[] = [
  ...['/publisher.v1/api-token', '/api-token'].flatMap((base): Route[] => [
    { method: 'POST', path: `${base}/create`, body: { access: 'read' }, write: true },
    { method: 'POST', path: `${base}/list`, body: {}, write: false },
    { method: 'POST', path: `${base}/revoke`, body: { id: '123e4567-e89b-12d3-a456-426614174000' }, write: true },
    { method: 'POST', path: `${base}/rotate`, body: { id: '123e4567-e89b-12d3-a456-426614174000' }, write: true },
  ]),
  { method: 'POST', path: '/auth/tokens', body: { ttl: '1h' }, write: true },
  { method: 'POST', path: '/v1/tokens/verify', body: { token: 'kw_nothing' }, write: false },
  { method: 'POST', path: '/v1/tokens/123e4567-e89b-12d3-a456-426614174000/rotate', body: {}, write: true },
  { method: 'GET', path: '/v1/health', write: false },
];

let t: TestApp;
let api: Client;
const tokens: Record<'read' | 'write' | 'expired' | 'revoked' | 'unknown', string> = {} as never;

beforeAll(async () => {
  t = await startApp();
  api = client(t.url);
  const mk = async (body: object) => (await api.post('/api-token/create', body)).body as { id: string; token: string };
  tokens.read = (await mk({ access: 'read' })).token;
  tokens.write = (await mk({ access: 'write' })).token;
  const exp = await mk({ access: 'write', expires_at: new Date(Date.now() + 1200).toISOString() });
  tokens.expired = exp.token;
  const rev = await mk({ access: 'write' });
  await api.post('/api-token/revoke', { id: rev.id });
  tokens.revoked = rev.token;
  // Well-formed, valid checksum, but never issued.
  tokens.unknown = t.app.get((await import('../src/tokens/token-codec.js')).TokenCodec).generate().token;
  await new Promise((r) => setTimeout(r, 1300));
});
afterAll(async () => t?.close());

const call = (r: Route, token: string | null, header?: string) =>
  api.call(r.method, r.path, { body: r.body, token, header });

describe.each(ROUTES)('$method $path', (route) => {
  it('no token → 401 authentication_error', async () => {
    const res = await call(route, null);
    expect(res.status).toBe(401);
    expect(envelopeOf(res)).toMatchObject({
      code: 'authentication_error',
      message: 'Invalid or missing API token',
      data: {},
    });
  });

  it('garbage, unknown, revoked and non-Bearer tokens → 401', async () => {
    for (const bad of ['garbage', 'kw_' + 'A'.repeat(65), tokens.unknown, tokens.revoked, 'x'.repeat(4000)]) {
      const res = await call(route, bad);
      expect(res.status, bad.slice(0, 20)).toBe(401);
      expect(envelopeOf(res)).toMatchObject({ code: 'authentication_error', message: 'Invalid or missing API token' });
    }
    const basic = await api.call(route.method, route.path, {
      body: route.body,
      token: null,
      headers: { authorization: `Basic ${Buffer.from(`x:${ADMIN_TOKEN}`).toString('base64')}` },
    });
    expect(basic.status).toBe(401);
  });

  it('expired token → 401 "Token expired"', async () => {
    const res = await call(route, tokens.expired);
    expect(res.status).toBe(401);
    expect(envelopeOf(res)).toMatchObject({ code: 'authentication_error', message: 'Token expired' });
  });

  it(`read token → ${route.write ? '403 authorization_error' : 'allowed'}`, async () => {
    const res = await call(route, tokens.read);
    if (route.write) {
      expect(res.status).toBe(403);
      expect(envelopeOf(res)).toMatchObject({
        code: 'authorization_error',
        message: 'Insufficient permissions',
        data: {},
      });
    } else {
      expect(res.status).toBeLessThan(300);
    }
  });

  it('write token is accepted in every header style', async () => {
    for (const header of ['authorization', 'x-token', 'x-api-key', 'x-project-token']) {
      const res = await call(route, tokens.write, header);
      expect([200, 201, 204, 404], `${header}: ${res.text}`).toContain(res.status);
    }
  });
});

describe('open routes', () => {
  it('only ping, /docs and the OpenAPI JSON answer without a token', async () => {
    expect((await api.get('/api/v1/public/ping', { token: null })).status).toBe(200);
    expect((await api.get('/docs', { token: null })).status).toBeLessThan(400);
    expect((await api.get('/openapi.json', { token: null })).status).toBe(200);
  });

  it('accepts the vendor Accept header of the TTL-token style on protected routes', async () => {
    const res = await api.call('POST', '/api-token/list', {
      body: {},
      headers: { accept: 'Application/vnd.pkglatv1+json' },
    });
    expect(res.status).toBe(200);
  });
});
