import { describe, expect, it } from 'vitest';
import { useApp } from '../support/app.js';
import { createProject, unique } from '../support/projects.js';

const t = useApp();
const api = t.api;

const create = async (body: Record<string, unknown>, token?: string) =>
  api.post('/api-token/create', { access: 'read', ...body }, { token });

describe('metadata and owner', () => {
  it('verify returns both; forward auth answers X-Keyward-Meta (base64 JSON) when asked', async () => {
    const meta = { plan: 'pro', seats: 3, nested: { ok: true } };
    const res = await create({ meta, owner: 'customer_1' });
    expect(res.status, res.text).toBe(200);
    const v = await api.post('/v1/tokens/verify', { token: res.body.token });
    expect(v.body.token).toMatchObject({ owner: 'customer_1', meta });
    const plain = await api.get('/v1/auth/check', { token: res.body.token });
    expect(plain.headers.get('x-keyward-meta')).toBeNull();
    const asked = await api.get('/v1/auth/check?meta=1', { token: res.body.token });
    expect(JSON.parse(Buffer.from(asked.headers.get('x-keyward-meta')!, 'base64').toString())).toEqual(meta);
  });

  it('meta must be a JSON object of at most 4 KB', async () => {
    expect((await create({ meta: { big: 'x'.repeat(4100) } })).status).toBe(400);
    expect((await create({ meta: [1, 2] })).status).toBe(400);
    expect((await create({ meta: 'text' })).status).toBe(400);
    expect((await create({ owner: '' })).status).toBe(400);
    expect((await create({ meta: { fits: 'x'.repeat(4000) } })).status).toBe(200);
  });

  it('are set and cleared by update (Calyptia PATCH) and shown by get', async () => {
    const project = await createProject(api);
    const made = await api.post(`/v1/projects/${project.id}/tokens`, {
      name: unique('t'),
      permissions: ['read:token'],
      owner: 'svc-a',
      meta: { a: 1 },
    });
    expect(made.body).toMatchObject({ owner: 'svc-a', meta: { a: 1 } });
    await api.patch(`/v1/project_tokens/${made.body.id}`, { owner: 'svc-b', meta: null });
    const got = await api.get(`/v1/project_tokens/${made.body.id}`);
    expect(got.body).toMatchObject({ owner: 'svc-b', meta: null });
  });

  it('list filters by owner; one call revokes every token of an owner with its tree, each audited', async () => {
    const owner = unique('owner');
    const a = (await create({ owner, access: 'write' })).body;
    const b = (await create({ owner })).body;
    const other = (await create({ owner: unique('owner') })).body;
    const child = (await api.post('/auth/tokens', { ttl: '1h', permissions: ['read:*'] }, { token: a.token })).body;
    const listed = await api.post('/api-token/list', { filters: [{ key: 'owner', value: owner }] });
    expect(listed.body.data.map((d: { id: string }) => d.id).sort()).toEqual([a.id, b.id].sort());

    const res = await api.post('/v1/tokens/revoke-by-owner', { owner });
    expect(res.status, res.text).toBe(200);
    expect(res.body.tokens.sort()).toEqual([a.id, b.id].sort());
    expect(res.body.descendants).toBe(1);
    for (const tok of [a.token, b.token, child.token]) {
      expect((await api.post('/v1/tokens/verify', { token: tok })).body.code).toBe('REVOKED');
    }
    expect((await api.post('/v1/tokens/verify', { token: other.token })).body.code).toBe('VALID');
    const audit = await api.get(`/v1/audit?action=token.revoke&limit=100`);
    const targets = (audit.body.items ?? audit.body.data ?? audit.body).map(
      (e: { target_id?: string; targetId?: string }) => e.target_id ?? e.targetId,
    );
    expect(targets).toEqual(expect.arrayContaining([a.id, b.id, child.id]));
  });

  it('disable-by-owner disables them (401, verify DISABLED); a caller without the rights skips stronger tokens', async () => {
    const owner = unique('owner');
    const w = (await create({ owner, access: 'write' })).body;
    const r = (await create({ owner })).body;
    const reader = (await create({ access: 'write' })).body.token;
    // A token holding update:token only may not disable the write token (it holds more than the caller).
    const updater = (
      await api.post('/auth/tokens', { ttl: '1h', permissions: ['update:token', 'read:*'] }, { token: reader })
    ).body.token;
    const partial = await api.post('/v1/tokens/disable-by-owner', { owner }, { token: updater });
    expect(partial.body).toMatchObject({ tokens: [r.id], skipped: 1 });
    const all = await api.post('/v1/tokens/disable-by-owner', { owner });
    expect(all.body.tokens).toEqual([w.id]);
    expect((await api.post('/v1/tokens/verify', { token: w.token })).body.code).toBe('DISABLED');
    expect((await api.post('/v1/tokens/revoke-by-owner', { owner }, { token: r.token })).status).toBe(401);
  });
});
