import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, envelopeOf, useApp } from '../support/app.js';

const run = promisify(execFile);

const t = useApp();
const api = t.api;

const future = () => new Date(Date.now() + 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z');

async function create(body: Record<string, unknown>, token: string = ADMIN_TOKEN) {
  const res = await api.post('/publisher.v1/api-token/create', body, { token });
  expect(res.status, res.text).toBe(200);
  return res.body as {
    id: string;
    token: string;
    access: string;
    description: string | null;
    expires_at: string | null;
  };
}

describe.each(['/publisher.v1/api-token', '/api-token'])('Publisher API at %s', (base) => {
  it('creates a token that authenticates, lists it without its secret, and revokes it for good', async () => {
    const expires = future();
    const res = await api.post(`${base}/create`, {
      access: 'write',
      description: 'Production integration',
      expires_at: expires,
    });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(['access', 'created_at', 'description', 'expires_at', 'id', 'token']);
    expect(res.body).toMatchObject({ access: 'write', description: 'Production integration', expires_at: expires });
    expect(res.body.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.body.token).toMatch(/^kw_[0-9A-Za-z]{65}$/);
    expect(new Date(res.body.created_at).toISOString()).toBeTruthy();
    const { id, token } = res.body;

    const list = await api.post(`${base}/list`, {}, { token });
    expect(list.status).toBe(200);
    const mine = list.body.data.find((x: { id: string }) => x.id === id);
    expect(mine).toMatchObject({ id, access: 'write', status: 'active', description: 'Production integration' });
    expect(mine.token_stub).toMatch(/^kw_[0-9A-Za-z]{6}…$/);
    expect(list.text).not.toContain(token);
    expect(list.text).not.toContain('argon2');

    const revoked = await api.post(`${base}/revoke`, { id }, { token });
    expect(revoked.status).toBe(200);
    expect(revoked.body).toMatchObject({ id, status: 'revoked' });
    const after = await api.post(`${base}/list`, {}, { token });
    expect(after.status).toBe(401);
    expect(envelopeOf(after)).toMatchObject({ code: 'authentication_error', message: 'Invalid or missing API token' });
    // Revocation is permanent: revoking again changes nothing and the token stays dead.
    expect((await api.post(`${base}/revoke`, { id })).body.status).toBe('revoked');
  });
});

describe('create', () => {
  it('has no expiry unless asked for one', async () => {
    const t1 = await create({ access: 'read' });
    expect(t1.expires_at).toBeNull();
    expect(t1.description).toBeNull();
  });

  it('rejects expires_at in the past or not RFC 3339, with field errors', async () => {
    for (const expires_at of ['2020-01-01T00:00:00Z', 'tomorrow', '2030-13-01T00:00:00Z', 12, '9999-12-31T23:59:59Z']) {
      const res = await api.post('/api-token/create', { access: 'read', expires_at });
      expect(res.status).toBe(400);
      const e = envelopeOf(res);
      expect(e.code).toBe('bad_request');
      expect(Object.keys(e.data.fields as object)).toContain('expires_at');
    }
  });

  it('rejects unknown access levels, unknown fields and wrong types', async () => {
    for (const body of [
      { access: 'admin' },
      {},
      { access: 'read', extra: 1 },
      { access: ['read'] },
      { access: 'read', description: 5 },
    ]) {
      const res = await api.post('/api-token/create', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(envelopeOf(res).code).toBe('bad_request');
    }
  });

  it('lets a read token list but neither create nor revoke (no escalation)', async () => {
    const reader = await create({ access: 'read' });
    expect((await api.post('/api-token/list', {}, { token: reader.token })).status).toBe(200);
    for (const [path, body] of [
      ['/api-token/create', { access: 'read' }],
      ['/api-token/create', { access: 'write' }],
      ['/api-token/revoke', { id: reader.id }],
    ] as const) {
      const res = await api.post(path, body, { token: reader.token });
      expect(res.status).toBe(403);
      expect(envelopeOf(res)).toMatchObject({ code: 'authorization_error', message: 'Insufficient permissions' });
    }
  });

  it('caps a child token at its parent expiry', async () => {
    const parentExpiry = new Date(Date.now() + 3_600_000).toISOString();
    const parent = await create({ access: 'write', expires_at: parentExpiry });
    const child = await create({ access: 'read' }, parent.token);
    expect(new Date(child.expires_at!).getTime()).toBe(new Date(parentExpiry).getTime());
  });

  it('makes tokens that expire: 401 once expires_at has passed', async () => {
    const soon = new Date(Date.now() + 1500).toISOString();
    const tok = await create({ access: 'read', expires_at: soon });
    expect((await api.post('/api-token/list', {}, { token: tok.token })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1700));
    const res = await api.post('/api-token/list', {}, { token: tok.token });
    expect(res.status).toBe(401);
    expect(envelopeOf(res)).toMatchObject({ code: 'authentication_error', message: 'Token expired' });
  });
});

describe('list', () => {
  it('paginates with a cursor, newest first by default, and filters', async () => {
    const made: string[] = [];
    for (let i = 0; i < 5; i++) made.push((await create({ access: 'read', description: `page-${i}` })).id);
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const res = await api.post('/api-token/list', { pagination: { limit: 2, ...(cursor ? { cursor } : {}) } });
      expect(res.status).toBe(200);
      expect(res.body.page.page_size).toBe(res.body.data.length);
      expect(res.body.data.length).toBeLessThanOrEqual(2);
      seen.push(...res.body.data.map((d: { id: string }) => d.id));
      cursor = res.body.page.more ? res.body.page.cursor : undefined;
      pages++;
    } while (cursor && pages < 100);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(expect.arrayContaining(made));
    // newest first: our five appear in reverse creation order
    expect(seen.filter((id) => made.includes(id))).toEqual([...made].reverse());

    const asc = await api.post('/api-token/list', { sorts: [{ key: 'created_at', direction: 'asc' }] });
    const ascMine = asc.body.data.map((d: { id: string }) => d.id).filter((id: string) => made.includes(id));
    expect(ascMine).toEqual(made);

    const reads = await api.post('/api-token/list', { filters: [{ key: 'access', operator: 'eq', value: 'read' }] });
    expect(reads.body.data.every((d: { access: string }) => d.access === 'read')).toBe(true);
  });

  it('rejects a forged cursor and absurd limits with 400', async () => {
    for (const pagination of [{ cursor: 'not-a-cursor' }, { limit: 0 }, { limit: 100000 }, { limit: 'ten' }]) {
      const res = await api.post('/api-token/list', { pagination });
      expect(res.status, JSON.stringify(pagination)).toBe(400);
      expect(envelopeOf(res).code).toBe('bad_request');
    }
  });

  it('accepts an empty body, as curl -X POST without -d sends', async () => {
    const res = await api.call('POST', '/api-token/list', { headers: { 'content-type': 'application/json' }, raw: '' });
    expect(res.status).toBe(200);
  });
});

describe('revoke', () => {
  it('is 404 for an unknown id and 400 for a malformed one', async () => {
    const unknown = await api.post('/api-token/revoke', { id: '123e4567-e89b-12d3-a456-426614174000' });
    expect(unknown.status).toBe(404);
    expect(envelopeOf(unknown).code).toBe('not_found');
    const bad = await api.post('/api-token/revoke', { id: 'atok_abc123' });
    expect(bad.status).toBe(400);
  });
});

describe('Publisher-style documented curl examples, run verbatim against the service', () => {
  it('create, list and revoke with curl', async () => {
    // The documented commands with only the host and the placeholders filled in.
    const create = await run('curl', [
      '-s',
      '-X',
      'POST',
      `${t.url}/publisher.v1/api-token/create`,
      '-H',
      `Authorization: Bearer ${ADMIN_TOKEN}`,
      '-H',
      'Content-Type: application/json',
      '-d',
      `{
    "access": "write",
    "description": "Production integration",
    "expires_at": "${new Date().getUTCFullYear() + 1}-12-31T23:59:59Z"
  }`,
    ]);
    const created = JSON.parse(create.stdout);
    expect(created).toMatchObject({ access: 'write', description: 'Production integration' });
    expect(created.expires_at).toBe(`${new Date().getUTCFullYear() + 1}-12-31T23:59:59Z`);

    const list = await run('curl', [
      '-s',
      '-X',
      'POST',
      `${t.url}/publisher.v1/api-token/list`,
      '-H',
      `Authorization: Bearer ${created.token}`,
      '-H',
      'Content-Type: application/json',
      '-d',
      '{}',
    ]);
    expect(JSON.parse(list.stdout).data.some((d: { id: string }) => d.id === created.id)).toBe(true);

    const revoke = await run('curl', [
      '-s',
      '-X',
      'POST',
      `${t.url}/publisher.v1/api-token/revoke`,
      '-H',
      `Authorization: Bearer ${created.token}`,
      '-H',
      'Content-Type: application/json',
      '-d',
      `{"id": "${created.id}"}`,
    ]);
    expect(JSON.parse(revoke.stdout)).toMatchObject({ id: created.id, status: 'revoked' });
  });
});
