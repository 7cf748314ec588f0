import { describe, expect, it } from 'vitest';
import { calyptiaErrorOf, useApp } from '../support/app.js';
import { createGlobalToken, createProject, createProjectToken, unique } from '../support/projects.js';

const t = useApp();
const api = t.api;

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MISSING = '123e4567-e89b-12d3-a456-426614174000';

describe('POST /v1/projects', () => {
  it('creates a project: 201 {id, name, createdAt}', async () => {
    const name = unique('create');
    const res = await api.post('/v1/projects', { name });
    expect(res.status).toBe(201);
    expect(Object.keys(res.body).sort()).toEqual(['createdAt', 'id', 'name']);
    expect(res.body.id).toMatch(UUID);
    expect(res.body.name).toBe(name);
    expect(res.body.createdAt).toMatch(ISO);
    const got = await api.get(`/v1/projects/${res.body.id}`);
    expect(got.status).toBe(200);
    expect(got.body).toEqual(res.body);
  });

  it('answers 409 when the name is taken', async () => {
    const { name } = await createProject(api);
    const res = await api.post('/v1/projects', { name });
    expect(res.status).toBe(409);
    expect(calyptiaErrorOf(res)).toMatchObject({
      code: 'conflict',
      message: 'A project with this name already exists',
    });
  });

  it('stores names with quotes, SQL and unicode literally', async () => {
    for (const name of [`it's "quoted"`, `x'); DROP TABLE projects; --`, 'projét ✓ 日本語 🚀', '%_\\']) {
      const created = await createProject(api, name);
      expect(created.name).toBe(name);
      const got = await api.get(`/v1/projects/${created.id}`);
      expect(got.body.name).toBe(name);
    }
    expect((await api.get('/v1/projects')).status).toBe(200);
  });

  it('rejects missing, empty, non-string names and unknown fields with 400', async () => {
    for (const body of [
      {},
      { name: '' },
      { name: 5 },
      { name: null },
      { name: ['a'] },
      { name: 'x'.repeat(201) },
      { name: 'ok', extra: 1 },
    ]) {
      const res = await api.post('/v1/projects', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(calyptiaErrorOf(res).code).toBe('bad_request');
    }
    const arr = await api.post('/v1/projects', [{ name: 'x' }]);
    expect(arr.status).toBe(400);
    expect(calyptiaErrorOf(arr).code).toBe('bad_request');
  });

  it('needs create:project from a caller confined to no project', async () => {
    const read = await createGlobalToken(api, 'read');
    const write = await createGlobalToken(api, 'write');
    const p = await createProject(api);
    const projectToken = await createProjectToken(api, p.id, ['create:*', 'read:*', 'update:*', 'delete:*']);

    expect((await api.post('/v1/projects', { name: unique() }, { token: write })).status).toBe(201);
    const missing = await api.post('/v1/projects', { name: unique() }, { token: read });
    expect(missing.status).toBe(403);
    expect(calyptiaErrorOf(missing)).toMatchObject({
      code: 'authorization_error',
      message: 'Insufficient permissions',
    });
    const confined = await api.post('/v1/projects', { name: unique() }, { token: projectToken.token });
    expect(confined.status).toBe(403);
    expect(calyptiaErrorOf(confined)).toMatchObject({
      code: 'authorization_error',
      message: 'Only a token that is not confined to projects may create projects',
    });
    const none = await api.post('/v1/projects', { name: unique() }, { token: null });
    expect(none.status).toBe(401);
    expect(calyptiaErrorOf(none).code).toBe('authentication_error');
  });
});

describe('GET /v1/projects', () => {
  it('paginates newest first with limit and the X-Next-Cursor header', async () => {
    const made = [await createProject(api), await createProject(api), await createProject(api)];
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: { status: number; body: any; headers: Headers } = await api.get(
        `/v1/projects?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      expect(res.status).toBe(200);
      expect(Array.isArray(res.body)).toBe(true);
      expect(res.body.length).toBeLessThanOrEqual(2);
      for (const p of res.body) {
        expect(Object.keys(p).sort()).toEqual(['createdAt', 'id', 'name']);
        seen.push(p.id);
      }
      cursor = res.headers.get('x-next-cursor');
      pages++;
    } while (cursor && pages < 100);
    expect(new Set(seen).size).toBe(seen.length);
    const all = await api.get('/v1/projects?limit=1000');
    expect(all.headers.get('x-next-cursor')).toBeNull();
    expect(all.body.map((p: { id: string }) => p.id)).toEqual(seen);
    // Newest first (ties on createdAt broken by id, descending); the three just made lead the list.
    const key = (p: { createdAt: string; id: string }) => `${p.createdAt}|${p.id}`;
    const keys = all.body.map(key);
    expect(keys).toEqual([...keys].sort().reverse());
    expect(new Set(seen.slice(0, 3))).toEqual(new Set(made.map((p) => p.id)));
  });

  it('rejects bad limits, forged cursors and unknown query parameters with 400', async () => {
    for (const q of ['limit=0', 'limit=1001', 'limit=abc', 'limit=1.5', 'cursor=forged', 'page=2']) {
      const res = await api.get(`/v1/projects?${q}`);
      expect(res.status, q).toBe(400);
      expect(calyptiaErrorOf(res).code).toBe('bad_request');
    }
  });

  it('shows a project token only its own project, and a global read token every project', async () => {
    const mine = await createProject(api);
    const other = await createProject(api);
    const pt = await createProjectToken(api, mine.id, ['read:project']);
    const res = await api.get('/v1/projects', { token: pt.token, header: 'x-project-token' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual([mine]);

    const read = await createGlobalToken(api, 'read');
    const all = await api.get('/v1/projects?limit=1000', { token: read });
    expect(all.status).toBe(200);
    const ids = all.body.map((p: { id: string }) => p.id);
    expect(ids).toContain(mine.id);
    expect(ids).toContain(other.id);
  });
});

describe('GET /v1/projects/{projectID}', () => {
  it('is 404 for an unknown project and 400 for a malformed id', async () => {
    const unknown = await api.get(`/v1/projects/${MISSING}`);
    expect(unknown.status).toBe(404);
    expect(calyptiaErrorOf(unknown)).toMatchObject({ code: 'not_found', message: 'Project not found' });
    for (const bad of ['not-a-uuid', '123', `${MISSING}x`, "1' OR '1'='1"]) {
      const res = await api.get(`/v1/projects/${encodeURIComponent(bad)}`);
      expect(res.status, bad).toBe(400);
      expect(calyptiaErrorOf(res)).toMatchObject({
        code: 'bad_request',
        data: { fields: { projectID: ['projectID must be a UUID'] } },
      });
    }
  });

  it('accepts an upper-case UUID', async () => {
    const p = await createProject(api);
    const res = await api.get(`/v1/projects/${p.id.toUpperCase()}`);
    expect(res.status).toBe(200);
    expect(res.body.id).toBe(p.id);
  });

  it('never shows another project to a project token: 404 whether it exists or not', async () => {
    const mine = await createProject(api);
    const other = await createProject(api);
    const pt = await createProjectToken(api, mine.id, ['read:*']);
    const own = await api.get(`/v1/projects/${mine.id}`, { token: pt.token, header: 'x-project-token' });
    expect(own.status).toBe(200);
    const a = await api.get(`/v1/projects/${other.id}`, { token: pt.token, header: 'x-project-token' });
    const b = await api.get(`/v1/projects/${MISSING}`, { token: pt.token, header: 'x-project-token' });
    for (const res of [a, b]) {
      expect(res.status).toBe(404);
      expect(calyptiaErrorOf(res)).toMatchObject({ code: 'not_found', message: 'Project not found', data: {} });
    }
    expect(a.text).not.toContain(other.name);
  });
});
