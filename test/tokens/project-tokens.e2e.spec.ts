import { beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, calyptiaErrorOf, useApp } from '../support/app.js';
import {
  createGlobalToken,
  createProject,
  createProjectToken,
  type ProjectBody,
  type ProjectTokenBody,
  unique,
} from '../support/projects.js';

let project: ProjectBody;

const t = useApp();
const api = t.api;

beforeAll(async () => {
  project = await createProject(api);
});

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MISSING = '123e4567-e89b-12d3-a456-426614174000';
const ALL = ['create:*', 'read:*', 'update:*', 'delete:*'];
const pt = (token: string) => ({ token, header: 'x-project-token' });

describe('Calyptia-style documented fetch examples, run verbatim (host, {projectID} and <token> replaced)', () => {
  it('creates a token, then lists it', async () => {
    const host = t.url;
    const projectID = project.id;
    const token = ADMIN_TOKEN;
    let created: ProjectTokenBody;
    {
      const response = await fetch(`${host}/v1/projects/${projectID}/tokens`, {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${token}`,
          'Content-Type': 'application/json',
        },
        body: JSON.stringify({
          name: 'new-token',
          permissions: ['create:*'],
        }),
      });
      const data = await response.json();
      // (end of the documented code)
      expect(response.status).toBe(201);
      created = data as ProjectTokenBody;
      expect(Object.keys(created).sort()).toEqual([
        'createdAt',
        'enabled',
        'expiresAt',
        'id',
        'meta',
        'name',
        'owner',
        'permissions',
        'projectID',
        'ratelimit',
        'refill',
        'remaining',
        'scopes',
        'token',
      ]);
      expect(created).toMatchObject({ name: 'new-token', permissions: ['create:*'] });
      expect(created.id).toMatch(UUID);
      expect(created.createdAt).toMatch(ISO);
      expect(created.token).toMatch(/^kw_[0-9A-Za-z]{65}$/);
    }
    {
      const response = await fetch(`${host}/v1/projects/${projectID}/tokens`, {
        method: 'GET',
        headers: {
          Authorization: `Bearer ${token}`,
        },
      });
      const data = await response.json();
      // (end of the documented code)
      expect(response.status).toBe(200);
      expect(Array.isArray(data)).toBe(true);
      const mine = (data as ProjectTokenBody[]).find((x: ProjectTokenBody) => x.id === created.id);
      expect(mine).toEqual({ ...created, token: mine!.token });
      expect(mine!.token).not.toBe(created.token);
      expect(mine!.token).toMatch(/^kw_[0-9A-Za-z]{6}…$/);
      expect(JSON.stringify(data)).not.toContain(created.token);
    }
  });
});

describe('POST /v1/projects/{projectID}/tokens', () => {
  it('mints a token that authenticates with X-Project-Token, inside its project only', async () => {
    const tok = await createProjectToken(api, project.id, ['read:token', 'read:project']);
    for (const header of ['x-project-token', 'authorization', 'x-token', 'x-api-key']) {
      const res = await api.get(`/v1/projects/${project.id}/tokens`, { token: tok.token, header });
      expect(res.status, header).toBe(200);
    }
    const other = await createProject(api);
    const res = await api.get(`/v1/projects/${other.id}/tokens`, pt(tok.token));
    expect(res.status).toBe(404);
    expect(calyptiaErrorOf(res)).toMatchObject({ code: 'not_found', message: 'Project not found' });
  });

  it('returns permissions unique and in the enum order', async () => {
    const tok = await createProjectToken(api, project.id, [
      'read:token',
      'create:*',
      'read:token',
      'delete:project',
      'create:*',
    ]);
    expect(tok.permissions).toEqual(['create:*', 'read:token', 'delete:project']);
    const got = await api.get(`/v1/project_tokens/${tok.id}`);
    expect(got.body.permissions).toEqual(['create:*', 'read:token', 'delete:project']);
  });

  it('rejects unknown permissions, non-arrays and bad names with 400 and field errors', async () => {
    const bodies: Array<[unknown, string]> = [
      [{ name: 'a', permissions: ['admin'] }, 'permissions'],
      [{ name: 'a', permissions: ['create:token', 'create:everything'] }, 'permissions'],
      [{ name: 'a', permissions: ['CREATE:*'] }, 'permissions'],
      [{ name: 'a', permissions: 'create:*' }, 'permissions'],
      [{ name: 'a', permissions: null }, 'permissions'],
      [{ name: 'a', permissions: [1] }, 'permissions'],
      [{ name: 'a', permissions: { 0: 'create:*' } }, 'permissions'],
      [{ name: 'a' }, 'permissions'],
      [{ permissions: ['create:*'] }, 'name'],
      [{ name: '', permissions: ['create:*'] }, 'name'],
      [{ name: 7, permissions: ['create:*'] }, 'name'],
      [{ name: 'a', permissions: ['create:*'], access: 'write' }, 'access'],
    ];
    for (const [body, field] of bodies) {
      const res = await api.post(`/v1/projects/${project.id}/tokens`, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      const e = calyptiaErrorOf(res);
      expect(e).toMatchObject({ code: 'bad_request', message: 'Request validation failed' });
      expect(Object.keys(e.data.fields as object), JSON.stringify(body)).toContain(field);
      expect(e.detail, JSON.stringify(body)).toContain(`${field}: `);
    }
  });

  it('answers 409 for a name already taken in the project, but the same name is fine elsewhere', async () => {
    const name = unique('dup');
    await createProjectToken(api, project.id, ['read:*'], { name });
    const res = await api.post(`/v1/projects/${project.id}/tokens`, { name, permissions: ['read:*'] });
    expect(res.status).toBe(409);
    expect(calyptiaErrorOf(res)).toMatchObject({
      code: 'conflict',
      message: 'A token with this name already exists in the project',
    });
    const other = await createProject(api);
    await createProjectToken(api, other.id, ['read:*'], { name });
  });

  it('stores names with quotes, SQL and unicode literally', async () => {
    for (const name of [`it's "q"`, `'); DELETE FROM api_tokens; --`, 'jeton ✓ 🚀 東京']) {
      const tok = await createProjectToken(api, project.id, ['read:*'], { name });
      expect(tok.name).toBe(name);
      expect((await api.get(`/v1/project_tokens/${tok.id}`)).body.name).toBe(name);
      const byName = await api.get(`/v1/projects/${project.id}/tokens?name=${encodeURIComponent(name)}`);
      expect(byName.body.map((x: ProjectTokenBody) => x.id)).toEqual([tok.id]);
    }
  });

  it('is 404 for an unknown project and 400 for a malformed project id', async () => {
    const unknown = await api.post(`/v1/projects/${MISSING}/tokens`, { name: 'a', permissions: ['read:*'] });
    expect(unknown.status).toBe(404);
    expect(calyptiaErrorOf(unknown)).toMatchObject({ code: 'not_found', message: 'Project not found' });
    const bad = await api.post('/v1/projects/nope/tokens', { name: 'a', permissions: ['read:*'] });
    expect(bad.status).toBe(400);
    expect(calyptiaErrorOf(bad)).toMatchObject({
      code: 'bad_request',
      data: { fields: { projectID: ['projectID must be a UUID'] } },
    });
  });

  it('lets a project token grant only what it holds (no escalation); create:* covers create:token', async () => {
    const minter = await createProjectToken(api, project.id, ['create:token', 'read:token']);
    const ok = await api.post(
      `/v1/projects/${project.id}/tokens`,
      { name: unique(), permissions: ['read:token'] },
      pt(minter.token),
    );
    expect(ok.status).toBe(201);
    for (const permissions of [['delete:token'], ['read:*'], ['create:*'], ['read:token', 'update:token']]) {
      const res = await api.post(
        `/v1/projects/${project.id}/tokens`,
        { name: unique(), permissions },
        pt(minter.token),
      );
      expect(res.status, permissions.join()).toBe(403);
      expect(calyptiaErrorOf(res)).toMatchObject({
        code: 'authorization_error',
        message: 'Cannot grant permissions you do not have',
      });
    }
    const wide = await createProjectToken(api, project.id, ['create:*', 'read:token']);
    const res = await api.post(
      `/v1/projects/${project.id}/tokens`,
      { name: unique(), permissions: ['create:token', 'create:project'] },
      pt(wide.token),
    );
    expect(res.status).toBe(201);
    // A global read token holds read:* but not create:token.
    const read = await createGlobalToken(api, 'read');
    const denied = await api.post(
      `/v1/projects/${project.id}/tokens`,
      { name: unique(), permissions: ['read:*'] },
      { token: read },
    );
    expect(denied.status).toBe(403);
    expect(calyptiaErrorOf(denied)).toMatchObject({ code: 'authorization_error', message: 'Insufficient permissions' });
  });

  it('confines project tokens to their project on the Publisher routes, and keeps them from creating projects', async () => {
    const strong = await createProjectToken(api, project.id, ALL);
    const unscoped = (await api.post('/api-token/create', { access: 'read' })).body as { id: string };
    // A project token is a caller like any other, confined to its project: what it creates is too.
    const made = await api.post('/publisher.v1/api-token/create', { access: 'write' }, pt(strong.token));
    expect(made.status, made.text).toBe(200);
    const verdict = await api.post('/v1/tokens/verify', { token: made.body.token });
    expect(verdict.body.token.projects).toEqual([project.id]);
    const listed = await api.post('/publisher.v1/api-token/list', {}, pt(strong.token));
    expect(listed.status).toBe(200);
    const ids = listed.body.data.map((x: { id: string }) => x.id);
    expect(ids).toContain(made.body.id);
    expect(ids).not.toContain(unscoped.id);
    // A token that may act on every project is outside its scope: not found, not revoked.
    const revoke = await api.post('/api-token/revoke', { id: unscoped.id }, pt(strong.token));
    expect(revoke.status).toBe(404);
    const projects = await api.post('/v1/projects', { name: unique() }, pt(strong.token));
    expect(projects.status).toBe(403);
    expect(calyptiaErrorOf(projects).code).toBe('authorization_error');
  });
});

describe('GET /v1/projects/{projectID}/tokens', () => {
  it('takes last (the newest N) and name (exact match)', async () => {
    const p = await createProject(api);
    const made: ProjectTokenBody[] = [];
    for (const name of ['alpha', 'beta', 'gamma']) made.push(await createProjectToken(api, p.id, ['read:*'], { name }));
    const all = await api.get(`/v1/projects/${p.id}/tokens`);
    expect(all.body).toHaveLength(3);
    const ids = all.body.map((x: ProjectTokenBody) => x.id);
    const last2 = await api.get(`/v1/projects/${p.id}/tokens?last=2`);
    expect(last2.status).toBe(200);
    expect(last2.body.map((x: ProjectTokenBody) => x.id)).toEqual(ids.slice(0, 2));
    expect((await api.get(`/v1/projects/${p.id}/tokens?last=0`)).body).toEqual([]);
    const beta = await api.get(`/v1/projects/${p.id}/tokens?name=beta`);
    expect(beta.body.map((x: ProjectTokenBody) => x.name)).toEqual(['beta']);
    expect((await api.get(`/v1/projects/${p.id}/tokens?name=bet`)).body).toEqual([]);
    for (const q of ['last=-1', 'last=x', 'last=1.5', 'limit=2']) {
      const res = await api.get(`/v1/projects/${p.id}/tokens?${q}`);
      expect(res.status, q).toBe(400);
      expect(calyptiaErrorOf(res).code).toBe('bad_request');
    }
    for (const x of all.body) {
      expect(Object.keys(x).sort()).toEqual([
        'createdAt',
        'enabled',
        'expiresAt',
        'id',
        'meta',
        'name',
        'owner',
        'permissions',
        'projectID',
        'ratelimit',
        'refill',
        'remaining',
        'scopes',
        'token',
      ]);
      expect(made.map((m) => m.token)).not.toContain(x.token);
    }
  });
});

describe('single-token routes', () => {
  it('PATCH renames and replaces permissions (204), the token then acts with them', async () => {
    const tok = await createProjectToken(api, project.id, ['read:token']);
    const name = unique('renamed');
    const res = await api.patch(`/v1/project_tokens/${tok.id}`, {
      name,
      permissions: ['read:project', 'read:project'],
    });
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    const got = await api.get(`/v1/project_tokens/${tok.id}`);
    expect(got.body).toMatchObject({ id: tok.id, name, permissions: ['read:project'], createdAt: tok.createdAt });
    expect((await api.get(`/v1/projects/${project.id}`, pt(tok.token))).status).toBe(200);
    expect((await api.get(`/v1/projects/${project.id}/tokens`, pt(tok.token))).status).toBe(403);
    expect((await api.patch(`/v1/project_tokens/${tok.id}`, {})).status).toBe(204);
    expect((await api.patch(`/v1/project_tokens/${tok.id}`, { name: unique() })).status).toBe(204);
  });

  it('PATCH rejects unknown permissions, bad names and unknown fields with 400', async () => {
    const tok = await createProjectToken(api, project.id, ['read:token']);
    for (const body of [
      { permissions: ['root'] },
      { permissions: 'read:*' },
      { name: '' },
      { name: 3 },
      { enabled: 'no' },
      { id: MISSING },
    ]) {
      const res = await api.patch(`/v1/project_tokens/${tok.id}`, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(calyptiaErrorOf(res).code).toBe('bad_request');
    }
  });

  it('PATCH answers 409 for a taken name and 403 for escalation', async () => {
    const a = await createProjectToken(api, project.id, ['read:token']);
    const b = await createProjectToken(api, project.id, ['read:token']);
    const taken = await api.patch(`/v1/project_tokens/${b.id}`, { name: a.name });
    expect(taken.status).toBe(409);
    expect(calyptiaErrorOf(taken).code).toBe('conflict');
    const updater = await createProjectToken(api, project.id, ['update:token', 'read:token']);
    const self = await api.patch(
      `/v1/project_tokens/${updater.id}`,
      { permissions: ['update:*', 'read:*'] },
      pt(updater.token),
    );
    expect(self.status).toBe(403);
    expect(calyptiaErrorOf(self)).toMatchObject({
      code: 'authorization_error',
      message: 'Cannot grant permissions you do not have',
    });
    const other = await api.patch(`/v1/project_tokens/${a.id}`, { permissions: ['delete:token'] }, pt(updater.token));
    expect(other.status).toBe(403);
    // Narrowing is not escalation.
    expect(
      (await api.patch(`/v1/project_tokens/${a.id}`, { permissions: ['read:token'] }, pt(updater.token))).status,
    ).toBe(204);
    expect((await api.get(`/v1/project_tokens/${a.id}`)).body.permissions).toEqual(['read:token']);
  });

  it('DELETE revokes: 204, the token stops authenticating, disappears, and its name is free again', async () => {
    const tok = await createProjectToken(api, project.id, ['read:*', 'delete:token']);
    const res = await api.delete(`/v1/project_tokens/${tok.id}`);
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    const after = await api.get(`/v1/projects/${project.id}/tokens`, pt(tok.token));
    expect(after.status).toBe(401);
    expect(calyptiaErrorOf(after).code).toBe('authentication_error');
    const gone = await api.get(`/v1/project_tokens/${tok.id}`);
    expect(gone.status).toBe(404);
    expect(calyptiaErrorOf(gone)).toMatchObject({ code: 'not_found', message: 'Token not found' });
    const list = await api.get(`/v1/projects/${project.id}/tokens`);
    expect(list.body.map((x: ProjectTokenBody) => x.id)).not.toContain(tok.id);
    // Deleting it again revokes whatever may still live below it (nothing here): a revoked tree can
    // always be revoked further.
    const again = await api.delete(`/v1/project_tokens/${tok.id}`);
    expect(again.status).toBe(204);
    expect(again.headers.get('x-revoked-descendants')).toBe('0');
    expect((await api.patch(`/v1/project_tokens/${tok.id}`, { name: 'x' })).status).toBe(404);
    await createProjectToken(api, project.id, ['read:*'], { name: tok.name });
  });

  it('a project token can delete itself', async () => {
    const tok = await createProjectToken(api, project.id, ['delete:token']);
    expect((await api.delete(`/v1/project_tokens/${tok.id}`, pt(tok.token))).status).toBe(204);
    expect((await api.delete(`/v1/project_tokens/${tok.id}`, pt(tok.token))).status).toBe(401);
  });

  it('is 404 for unknown tokens, 400 for malformed ids, and never serves a global token', async () => {
    for (const method of ['get', 'delete'] as const) {
      const res = await api[method](`/v1/project_tokens/${MISSING}`);
      expect(res.status).toBe(404);
      expect(calyptiaErrorOf(res).code).toBe('not_found');
      const bad = await api[method]('/v1/project_tokens/zzz');
      expect(bad.status).toBe(400);
      expect(calyptiaErrorOf(bad)).toMatchObject({
        code: 'bad_request',
        data: { fields: { tokenID: ['tokenID must be a UUID'] } },
      });
    }
    const global = await api.post('/api-token/create', { access: 'read' });
    const res = await api.get(`/v1/project_tokens/${global.body.id}`);
    expect(res.status).toBe(404);
  });

  it("the project-scoped aliases work, and only for the token's own project", async () => {
    const tok = await createProjectToken(api, project.id, ['read:*']);
    const base = `/v1/projects/${project.id}/tokens/${tok.id}`;
    const got = await api.get(base);
    expect(got.status).toBe(200);
    expect(got.body).toEqual({ ...tok, token: got.body.token });
    expect((await api.patch(base, { name: unique() })).status).toBe(204);
    const other = await createProject(api);
    for (const method of ['get', 'delete'] as const) {
      const res = await api[method](`/v1/projects/${other.id}/tokens/${tok.id}`);
      expect(res.status).toBe(404);
      expect(calyptiaErrorOf(res)).toMatchObject({ code: 'not_found', message: 'Token not found' });
    }
    expect((await api.get(`/v1/projects/${MISSING}/tokens/${tok.id}`)).status).toBe(404);
    expect((await api.get(`/v1/projects/x/tokens/${tok.id}`)).status).toBe(400);
    expect((await api.delete(base)).status).toBe(204);
    expect((await api.get(base)).status).toBe(404);
  });
});

describe('OpenAPI', () => {
  it('documents the routes, the Permission enum from the code, and the project-token security', async () => {
    const res = await api.get('/openapi.json', { token: null });
    expect(res.status).toBe(200);
    const doc = res.body;
    const { ALL_PERMISSIONS } = await import('../../src/access/permissions.js');
    expect(doc.components.schemas.Permission.enum).toEqual(ALL_PERMISSIONS);
    for (const path of [
      '/v1/projects',
      '/v1/projects/{projectID}',
      '/v1/projects/{projectID}/tokens',
      '/v1/project_tokens/{tokenID}',
      '/v1/projects/{projectID}/tokens/{tokenID}',
    ]) {
      expect(Object.keys(doc.paths), path).toContain(path);
    }
    const create = doc.paths['/v1/projects/{projectID}/tokens'].post;
    expect(create.operationId).toBe('createToken');
    expect(Object.keys(create.responses)).toEqual(expect.arrayContaining(['201', '400', '401', '403', '404', '409']));
    expect(create.security).toEqual(expect.arrayContaining([{ 'x-project-token': [] }, { bearer: [] }]));
    const tokenSchema = doc.components.schemas.ProjectTokenDto;
    expect(tokenSchema.required).toEqual(expect.arrayContaining(['id', 'token', 'name', 'permissions', 'createdAt']));
    expect(tokenSchema.properties.permissions).toMatchObject({ type: 'array', uniqueItems: true });
    const ops = Object.values(doc.paths).flatMap((p: any) => Object.values(p).map((o: any) => o.operationId));
    expect(new Set(ops).size).toBe(ops.length);
  });
});
