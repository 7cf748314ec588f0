import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, envelopeOf, useApp } from '../support/app.js';

const run = promisify(execFile);

const t = useApp();
const api = t.api;

const VENDOR_ACCEPT = { accept: 'Application/vnd.pkglatv1+json' };

describe('POST /auth/tokens (TTL tokens)', () => {
  it('runs the documented curl verbatim and returns {id, token, expires_at}', async () => {
    const { stdout } = await run('curl', [
      '-s',
      '-X',
      'POST',
      `${t.url}/auth/tokens`,
      '-H',
      `Authorization: Bearer ${ADMIN_TOKEN}`,
      '-H',
      'Accept: Application/vnd.pkglatv1+json',
      '-H',
      'Content-Type: application/json',
      '-d',
      `{
    "ttl": "1h",
    "remove_on_use": false
  }`,
    ]);
    const body = JSON.parse(stdout);
    expect(body.token).toMatch(/^kw_/);
    const ttl = new Date(body.expires_at).getTime() - Date.now();
    expect(ttl).toBeGreaterThan(3_500_000);
    expect(ttl).toBeLessThanOrEqual(3_600_000);
    const use = await api.post('/api-token/list', {}, { token: body.token, headers: VENDOR_ACCEPT });
    expect(use.status).toBe(200);
  });

  it.each(['30s', '15m', '1h', '7d'])('accepts ttl %s', async (ttl) => {
    const res = await api.post('/auth/tokens', { ttl });
    expect(res.status).toBe(201);
  });

  it.each([['0s'], ['-1h'], ['1x'], ['soon'], [''], ['1'], ['100ms'], ['999999d'], [3600], [null], ['1h; drop table']])(
    'rejects ttl %j with 400',
    async (ttl) => {
      const res = await api.post('/auth/tokens', { ttl });
      expect(res.status).toBe(400);
      expect(Object.keys(envelopeOf(res).data.fields as object)).toContain('ttl');
    },
  );

  it('a 2s token is valid, then 401 "Token expired" before any cleanup ran', async () => {
    const { body } = await api.post('/auth/tokens', { ttl: '2s' });
    expect((await api.post('/api-token/list', {}, { token: body.token })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 2100));
    const res = await api.post('/api-token/list', {}, { token: body.token });
    expect(res.status).toBe(401);
    expect(envelopeOf(res)).toMatchObject({ code: 'authentication_error', message: 'Token expired' });
  });

  it('a single-use token succeeds exactly once among 25 concurrent uses, then 401', async () => {
    const { body } = await api.post('/auth/tokens', { ttl: '1h', remove_on_use: true });
    const results = await Promise.all(
      Array.from({ length: 25 }, () => api.post('/api-token/list', {}, { token: body.token })),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 401)).toHaveLength(24);
    expect((await api.post('/api-token/list', {}, { token: body.token })).status).toBe(401);
  });

  it("narrows: by default the caller's rights, never more", async () => {
    const reader = (await api.post('/api-token/create', { access: 'read' })).body.token;
    // read tokens cannot create at all (write access needed)
    expect((await api.post('/auth/tokens', { ttl: '1h' }, { token: reader })).status).toBe(403);
    const writer = (await api.post('/api-token/create', { access: 'write' })).body.token;
    const narrowed = (await api.post('/auth/tokens', { ttl: '1h', access: 'read' }, { token: writer })).body.token;
    expect((await api.post('/api-token/list', {}, { token: narrowed })).status).toBe(200);
    expect((await api.post('/api-token/create', { access: 'read' }, { token: narrowed })).status).toBe(403);
    // and a TTL token never outlives an expiring parent
    const parent = (
      await api.post('/api-token/create', { access: 'write', expires_at: new Date(Date.now() + 60_000).toISOString() })
    ).body;
    const child = await api.post('/auth/tokens', { ttl: '7d' }, { token: parent.token });
    expect(new Date(child.body.expires_at).getTime()).toBe(new Date(parent.expires_at).getTime());
  });

  it('rejects unknown permissions and projects', async () => {
    expect((await api.post('/auth/tokens', { ttl: '1h', permissions: ['root:*'] })).status).toBe(400);
    expect((await api.post('/auth/tokens', { ttl: '1h', permissions: [] })).status).toBe(400);
    const res = await api.post('/auth/tokens', { ttl: '1h', projects: ['no-such-project'] });
    expect(res.status).toBe(400);
    expect(JSON.stringify(envelopeOf(res).data)).toContain('no-such-project');
  });
});

describe('POST /v1/tokens/verify', () => {
  const verify = (token: string, extra: object = {}, as?: string) =>
    api.post('/v1/tokens/verify', { token, ...extra }, as ? { token: as } : {});

  it('reports VALID with the token description, and NOT_FOUND for unknown or garbage', async () => {
    const made = (await api.post('/api-token/create', { access: 'read', description: 'svc' })).body;
    const ok = await verify(made.token);
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({
      valid: true,
      code: 'VALID',
      token: { id: made.id, access: 'read', permissions: ['read:*'], projects: null, expiresAt: null },
    });
    expect(ok.text).not.toContain(made.token);
    for (const bad of ['garbage', made.token.slice(0, -1) + (made.token.endsWith('a') ? 'b' : 'a')]) {
      expect((await verify(bad)).body).toEqual({ valid: false, code: 'NOT_FOUND' });
    }
  });

  it('reports EXPIRED, REVOKED and USED', async () => {
    const exp = (await api.post('/auth/tokens', { ttl: '1s' })).body.token;
    const rev = (await api.post('/api-token/create', { access: 'read' })).body;
    await api.post('/api-token/revoke', { id: rev.id });
    const once = (await api.post('/auth/tokens', { ttl: '1h', remove_on_use: true })).body.token;
    expect((await api.post('/api-token/list', {}, { token: once })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await verify(exp)).body).toMatchObject({ valid: false, code: 'EXPIRED' });
    expect((await verify(rev.token)).body).toMatchObject({ valid: false, code: 'REVOKED' });
    expect((await verify(once)).body).toMatchObject({ valid: false, code: 'USED' });
  });

  it('verifying a single-use token consumes it (exactly once under concurrency)', async () => {
    const once = (await api.post('/auth/tokens', { ttl: '1h', remove_on_use: true })).body.token;
    const results = await Promise.all(Array.from({ length: 10 }, () => verify(once)));
    expect(results.filter((r) => r.body.code === 'VALID')).toHaveLength(1);
    expect(results.filter((r) => r.body.code === 'USED')).toHaveLength(9);
  });

  it('reports FORBIDDEN for a missing permission, without consuming a single-use token', async () => {
    const once = (await api.post('/auth/tokens', { ttl: '1h', remove_on_use: true, access: 'read' })).body.token;
    expect((await verify(once, { permission: 'delete:token' })).body).toMatchObject({
      valid: false,
      code: 'FORBIDDEN',
    });
    expect((await verify(once, { permission: 'read:token' })).body).toMatchObject({ valid: true, code: 'VALID' });
  });

  it('needs an authenticated caller with read:token, and validates input', async () => {
    expect((await api.post('/v1/tokens/verify', { token: 'x' }, { token: null })).status).toBe(401);
    expect((await api.post('/v1/tokens/verify', {})).status).toBe(400);
    expect((await api.post('/v1/tokens/verify', { token: 'x', permission: 'root' })).status).toBe(400);
  });

  it('verifies the bootstrap admin token', async () => {
    expect((await verify(ADMIN_TOKEN)).body).toMatchObject({
      valid: true,
      code: 'VALID',
      token: { id: 'admin', access: 'write', projects: null },
    });
  });
});
