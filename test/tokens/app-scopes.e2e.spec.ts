import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { scopesGrant } from '../../src/access/app-scopes.js';
import { errorOf, useApp } from '../support/app.js';
import { createProject, unique } from '../support/projects.js';

const t = useApp();
const api = t.api;

const verify = (token: string, extra: Record<string, unknown> = {}) =>
  api.post('/v1/tokens/verify', { token, ...extra });

async function publisherToken(body: Record<string, unknown>, token?: string) {
  const res = await api.post('/api-token/create', { access: 'write', ...body }, { token });
  return res;
}

describe('application scopes', () => {
  it('are given at create in every API style and shown in list and get answers', async () => {
    const pub = await publisherToken({ scopes: ['stations:read', 'docs:delete', 'stations:read'] });
    expect(pub.status, pub.text).toBe(200);
    const listed = await api.post('/api-token/list', { pagination: { limit: 100 } });
    const mine = listed.body.data.find((d: { id: string }) => d.id === pub.body.id);
    expect(mine.scopes).toEqual(['docs:delete', 'stations:read']);

    const ttl = await api.post('/auth/tokens', { ttl: '1h', scopes: ['plan:pro'] });
    expect(ttl.status, ttl.text).toBe(201);
    expect((await verify(ttl.body.token)).body.token.scopes).toEqual(['plan:pro']);

    const project = await createProject(api);
    const created = await api.post(`/v1/projects/${project.id}/tokens`, {
      name: unique('t'),
      permissions: ['read:token'],
      scopes: ['stations:read'],
    });
    expect(created.status, created.text).toBe(201);
    expect(created.body.scopes).toEqual(['stations:read']);
    const got = await api.get(`/v1/project_tokens/${created.body.id}`);
    expect(got.body.scopes).toEqual(['stations:read']);
    const patched = await api.patch(`/v1/project_tokens/${created.body.id}`, { scopes: ['stations:write'] });
    expect(patched.status, patched.text).toBe(204);
    const list = await api.get(`/v1/projects/${project.id}/tokens`);
    expect(list.body.find((x: { id: string }) => x.id === created.body.id).scopes).toEqual(['stations:write']);
  });

  it('are bounded through the token tree: narrowing a parent narrows the scopes its children act with', async () => {
    const project = await createProject(api);
    const parent = await api.post(`/v1/projects/${project.id}/tokens`, {
      name: unique('parent'),
      permissions: ['create:*', 'read:*'],
      scopes: ['docs:*'],
    });
    expect(parent.status, parent.text).toBe(201);
    const child = await api.post(
      `/v1/projects/${project.id}/tokens`,
      { name: unique('child'), permissions: ['read:*'], scopes: ['docs:delete'] },
      { token: parent.body.token, header: 'x-project-token' },
    );
    expect(child.status, child.text).toBe(201);
    expect((await verify(child.body.token, { scopes: ['docs:delete'] })).body.code).toBe('VALID');
    const narrowed = await api.patch(`/v1/project_tokens/${parent.body.id}`, { scopes: ['docs:read'] });
    expect(narrowed.status, narrowed.text).toBe(204);
    const after = await verify(child.body.token, { scopes: ['docs:delete'] });
    expect(after.body.code).toBe('FORBIDDEN');
    expect(after.body.token.scopes).toEqual([]);
  });

  it('rejects malformed scopes and more than 64 with a 400', async () => {
    for (const scopes of [['has space'], ['a::b'], [':x'], ['*:x'], ['x'.repeat(101)], [7]]) {
      const res = await publisherToken({ scopes });
      expect(res.status, JSON.stringify(scopes)).toBe(400);
    }
    const many = Array.from({ length: 65 }, (_, i) => `s:${i}`);
    expect((await publisherToken({ scopes: many })).status).toBe(400);
    expect((await publisherToken({ scopes: many.slice(0, 64) })).status).toBe(200);
  });

  it('verify requires every scope asked for (FORBIDDEN otherwise); forward auth takes ?scope= and answers X-Keyward-Scopes', async () => {
    const { token } = (await publisherToken({ scopes: ['docs:*', 'plan:pro'] })).body;
    expect((await verify(token, { scopes: ['docs:delete', 'plan:pro'] })).body.code).toBe('VALID');
    expect((await verify(token, { scopes: ['docs:delete', 'plan:free'] })).body.code).toBe('FORBIDDEN');
    expect((await verify(token, { scopes: ['Docs:delete'] })).body.code).toBe('FORBIDDEN'); // case-sensitive
    const ok = await api.get('/v1/auth/check?scope=docs:overwrite&scope=plan:pro', { token });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('x-keyward-scopes')).toBe('docs:*,plan:pro');
    expect((await api.get('/v1/auth/check?scope=stations:read', { token })).status).toBe(403);
    expect((await api.get('/v1/auth/check?scope=bad%20scope', { token })).status).toBe(400);
  });

  it('a caller grants only scopes it holds, wildcards as prefixes; through the tree a child stays within', async () => {
    const parent = (await publisherToken({ scopes: ['docs:*', 'plan:pro'] })).body.token;
    expect((await publisherToken({ scopes: ['docs:delete', 'docs:x:y'] }, parent)).status).toBe(200);
    expect((await publisherToken({ scopes: ['docs:*'] }, parent)).status).toBe(200);
    const denied = await publisherToken({ scopes: ['stations:read'] }, parent);
    expect(denied.status).toBe(403);
    expect(errorOf(denied).message).toMatch(/scopes/);
    expect((await publisherToken({ scopes: ['*'] }, parent)).status).toBe(403);
    const narrow = (await publisherToken({ scopes: ['docs:delete'] }, parent)).body.token;
    expect((await publisherToken({ scopes: ['docs:*'] }, narrow)).status).toBe(403);
    expect((await api.post('/auth/tokens', { ttl: '1h', scopes: ['docs:overwrite'] }, { token: narrow })).status).toBe(
      403,
    );
    // Changing a token's scopes beyond the caller's is refused too.
    const project = await createProject(api);
    const pt = await api.post(`/v1/projects/${project.id}/tokens`, { name: unique('t'), permissions: [] });
    expect(
      (await api.patch(`/v1/project_tokens/${pt.body.id}`, { scopes: ['plan:enterprise'] }, { token: parent })).status,
    ).toBe(403);
  });

  it('the wildcard rule is a prefix order: held covers wanted exactly when every concrete scope of wanted is held', () => {
    const seg = fc.constantFrom('a', 'b', 'c');
    const scope = fc
      .tuple(fc.array(seg, { minLength: 1, maxLength: 3 }), fc.boolean())
      .map(([s, wild]) => (wild ? [...s, '*'] : s).join(':'));
    const anyScope = fc.oneof(scope, fc.constant('*'));
    // concrete scopes of depth up to 4 stand for "every scope" in this small alphabet
    const concrete = fc.array(seg, { minLength: 1, maxLength: 4 }).map((s) => s.join(':'));
    fc.assert(
      fc.property(
        fc.array(anyScope, { maxLength: 4 }),
        anyScope,
        fc.array(concrete, { maxLength: 20 }),
        (held, wanted, probes) => {
          if (scopesGrant(held, [wanted])) {
            // everything the wanted scope covers, the held set covers
            for (const p of probes) if (scopesGrant([wanted], [p])) expect(scopesGrant(held, [p])).toBe(true);
          }
        },
      ),
    );
  });
});

describe('the documentation-server flow with managed tokens', () => {
  // The documentation server asks Keyward, for each request: upload = the project name; overwrite and
  // delete = the project name plus the scope its tokens-file flag stands for; a new project = the
  // `docs:create-project` scope (what `existing_projects_only: false` allows).
  const may = async (token: string, project: string, scopes: string[] = []) =>
    (await verify(token, { project, scopes })).body.code;

  it('upload by project name, overwrite and delete by scope, exactly like file entries', async () => {
    const docs = await createProject(api, unique('docs'));
    const other = await createProject(api, unique('docs'));
    const uploader = (await api.post('/auth/tokens', { ttl: '1h', projects: [docs.name], permissions: ['read:*'] }))
      .body.token;
    const maintainer = (
      await api.post('/auth/tokens', {
        ttl: '1h',
        projects: [docs.name],
        permissions: ['read:*'],
        scopes: ['docs:overwrite', 'docs:delete'],
      })
    ).body.token;
    expect(await may(uploader, docs.name)).toBe('VALID');
    expect(await may(uploader, other.name)).toBe('FORBIDDEN');
    expect(await may(uploader, docs.name, ['docs:overwrite'])).toBe('FORBIDDEN');
    expect(await may(uploader, docs.name, ['docs:delete'])).toBe('FORBIDDEN');
    expect(await may(maintainer, docs.name, ['docs:overwrite'])).toBe('VALID');
    expect(await may(maintainer, docs.name, ['docs:delete'])).toBe('VALID');
    expect(await may(maintainer, other.name, ['docs:delete'])).toBe('FORBIDDEN');
    expect(await may(maintainer, docs.name, ['docs:create-project'])).toBe('FORBIDDEN');
  });
});
