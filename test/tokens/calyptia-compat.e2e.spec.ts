/**
 * Calyptia-style projects and project tokens, held to Calyptia Cloud's own OpenAPI document and to the
 * habits of Calyptia's Go client: errors decoded as `{"error": string, "detail": *string}`, UpdateToken
 * sending both fields with null for "unchanged", `last` + `before` paging that follows the `Link` header,
 * `projectID` on every token. Every answer of the project-token operations is validated against the
 * document.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, type Client, type Res, useApp } from '../support/app.js';
import { CalyptiaSpec, decodeCalyptiaError, nextLinkBefore } from '../support/calyptia.js';
import { createGlobalToken, createProject, type ProjectBody, unique } from '../support/projects.js';

const t = useApp();
const raw = t.api;
let spec: CalyptiaSpec;
let project: ProjectBody;
/** Every answer of an operation in Calyptia's document, with what was wrong with it. */
const seen: Array<{ what: string; problems: string[] }> = [];

const ALL = ['create:*', 'read:*', 'update:*', 'delete:*'];
const MISSING = '123e4567-e89b-12d3-a456-426614174000';
const pt = (token: string) => ({ token, header: 'x-project-token' });

/** The test client, but every answer from a documented Calyptia route is checked against the document. */
function checked(api: Client): Client {
  const call: Client['call'] = async (method, path, opts) => {
    const res = await api.call(method, path, opts);
    const problems = spec.problems(method, path, res);
    seen.push({ what: `${method} ${path} → ${res.status}`, problems });
    expect(problems, `${method} ${path} → ${res.status} ${res.text.slice(0, 300)}`).toEqual([]);
    return res;
  };
  return {
    call,
    get: (path, o) => call('GET', path, o),
    post: (path, body, o) => call('POST', path, { ...o, body }),
    patch: (path, body, o) => call('PATCH', path, { ...o, body }),
    delete: (path, o) => call('DELETE', path, o),
  };
}
const api = checked(raw);

beforeAll(async () => {
  spec = new CalyptiaSpec();
  project = await createProject(raw);
});

/**
 * A project token through Calyptia's createToken, validated against the document unless it asks for
 * Keyward's finer permissions (`update:project`…), which Calyptia's enum does not know.
 */
async function mint(projectId: string, permissions: string[], extra: Record<string, unknown> = {}, token?: string) {
  const calyptiaOnly = permissions.every((p) => ALL.includes(p));
  const res = await (calyptiaOnly ? api : raw).post(
    `/v1/projects/${projectId}/tokens`,
    { name: unique('tok'), permissions, ...extra },
    token ? { token } : {},
  );
  expect(res.status, res.text).toBe(201);
  return res.body as {
    id: string;
    token: string;
    name: string;
    permissions: string[];
    projectID: string;
    enabled: boolean;
    expiresAt: string | null;
  };
}

async function verify(token: string) {
  const res = await raw.post('/v1/tokens/verify', { token });
  expect(res.status, res.text).toBe(200);
  return res.body as { valid: boolean; code: string };
}

describe("Calyptia's document", () => {
  it('is found and read, and names the operations Keyward answers', () => {
    for (const [method, path] of [
      ['POST', '/v1/projects/x/tokens'],
      ['GET', '/v1/projects/x/tokens'],
      ['GET', '/v1/project_tokens/x'],
      ['PATCH', '/v1/project_tokens/x'],
      ['DELETE', '/v1/project_tokens/x'],
      ['PATCH', '/v1/projects/x'],
      ['DELETE', '/v1/projects/x'],
    ]) {
      expect(spec.operation(method, path).operationId).toBeTruthy();
    }
    // The validator does reject what the document forbids.
    const bad = { status: 200, body: [{ id: 'x', token: 't', name: 'n', permissions: ['root'] }], text: '[]' };
    expect(spec.problems('GET', '/v1/projects/x/tokens', bad as unknown as Res).length).toBeGreaterThan(0);
  });
});

describe('project-token operations answer in the shapes of the document', () => {
  it('createToken, tokens, token, updateToken, deleteToken', async () => {
    const made = await mint(project.id, ['read:*', 'create:*']);
    expect(made.token).toMatch(/^kw_/);
    expect(made.projectID).toBe(project.id);
    const list = await api.get(`/v1/projects/${project.id}/tokens`);
    expect(list.status).toBe(200);
    expect(list.body.every((x: { projectID: string }) => x.projectID === project.id)).toBe(true);
    const one = await api.get(`/v1/project_tokens/${made.id}`);
    expect(one.body).toMatchObject({ id: made.id, projectID: project.id, name: made.name, enabled: true });
    expect(
      (await api.patch(`/v1/project_tokens/${made.id}`, { name: unique('renamed'), permissions: null })).status,
    ).toBe(204);
    expect((await api.delete(`/v1/project_tokens/${made.id}`)).status).toBe(204);
  });

  it('errors of every kind decode as Calyptia errors: 400, 401, 403, 404, 409', async () => {
    const taken = await mint(project.id, ['read:*']);
    const reader = await mint(project.id, ['read:*']);
    const cases: Array<[number, () => Promise<Res>]> = [
      [400, () => api.post(`/v1/projects/${project.id}/tokens`, { name: 'x', permissions: ['root'] })],
      [400, () => api.post(`/v1/projects/${project.id}/tokens`, { name: 'x', permissions: 'read:*' })],
      [400, () => api.call('POST', `/v1/projects/${project.id}/tokens`, { raw: '{"name":' })],
      [400, () => api.get(`/v1/project_tokens/not-a-uuid`)],
      [400, () => api.get(`/v1/projects/${project.id}/tokens?last=-1`)],
      [400, () => api.get(`/v1/projects/${project.id}/tokens?before=forged`)],
      [401, () => api.get(`/v1/projects/${project.id}/tokens`, { token: null })],
      [401, () => api.get(`/v1/project_tokens/${taken.id}`, pt('kw_nope'))],
      [
        403,
        () => api.post(`/v1/projects/${project.id}/tokens`, { name: 'x', permissions: ['read:*'] }, pt(reader.token)),
      ],
      [404, () => api.get(`/v1/project_tokens/${MISSING}`)],
      [404, () => api.get(`/v1/projects/${MISSING}/tokens`)],
      [404, () => api.patch(`/v1/project_tokens/${MISSING}`, { name: null, permissions: null })],
      [404, () => api.delete(`/v1/project_tokens/${MISSING}`)],
      [409, () => api.post(`/v1/projects/${project.id}/tokens`, { name: taken.name, permissions: ['read:*'] })],
      [409, () => api.patch(`/v1/project_tokens/${reader.id}`, { name: taken.name, permissions: null })],
      [400, () => api.patch(`/v1/projects/${project.id}`, { name: '' })],
      [404, () => api.delete(`/v1/projects/${MISSING}`)],
    ];
    for (const [status, run] of cases) {
      const res = await run();
      expect(res.status, res.text).toBe(status);
      const decoded = decodeCalyptiaError(res.text);
      if (decoded instanceof Error) throw decoded;
      expect(decoded.error.length).toBeGreaterThan(0);
      // Keyward's extras ride along: the code and the trace id (also the X-Trace-Id header).
      expect(res.body.code).toEqual(expect.any(String));
      expect(res.body.trace_id).toBe(res.headers.get('x-trace-id'));
    }
  });

  it('a validation error says what is wrong in detail, as a string', async () => {
    const res = await api.post(`/v1/projects/${project.id}/tokens`, { name: '', permissions: ['root'] });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('Request validation failed');
    expect(res.body.detail).toMatch(/^(name: .*; permissions: .*|permissions: .*; name: .*)$/);
  });

  it('the Publisher-style routes keep their own envelope', async () => {
    const res = await raw.post('/publisher.v1/api-token/revoke', { id: MISSING });
    expect(res.status).toBe(404);
    expect(res.body.error).toMatchObject({ code: 'not_found', message: 'Token not found' });
  });
});

describe("the Go client's habits", () => {
  it('UpdateToken always sends both fields; null leaves a field unchanged', async () => {
    const tok = await mint(project.id, ['read:*']);
    const get = async () => (await api.get(`/v1/project_tokens/${tok.id}`)).body;
    const name = unique('new');
    expect((await api.patch(`/v1/project_tokens/${tok.id}`, { name, permissions: null })).status).toBe(204);
    expect(await get()).toMatchObject({ name, permissions: ['read:*'] });
    expect((await api.patch(`/v1/project_tokens/${tok.id}`, { name: null, permissions: ['create:*'] })).status).toBe(
      204,
    );
    expect(await get()).toMatchObject({ name, permissions: ['create:*'] });
    expect((await api.patch(`/v1/project_tokens/${tok.id}`, { name: null, permissions: null })).status).toBe(204);
    expect(await get()).toMatchObject({ name, permissions: ['create:*'] });
    // The project-scoped alias behaves the same.
    expect(
      (await raw.patch(`/v1/projects/${project.id}/tokens/${tok.id}`, { name: null, permissions: ['read:*'] })).status,
    ).toBe(204);
    expect(await get()).toMatchObject({ name, permissions: ['read:*'] });
  });

  it('an empty permission list means all permissions: stored as the four wildcards, never empty', async () => {
    const all = await mint(project.id, []);
    expect(all.permissions).toEqual(ALL);
    expect((await api.get(`/v1/project_tokens/${all.id}`)).body.permissions).toEqual(ALL);
    const tok = await mint(project.id, ['read:*']);
    expect((await api.patch(`/v1/project_tokens/${tok.id}`, { name: null, permissions: [] })).status).toBe(204);
    expect((await api.get(`/v1/project_tokens/${tok.id}`)).body.permissions).toEqual(ALL);
    // The wildcards really are held: the token can act with each of them.
    expect((await api.get(`/v1/projects/${project.id}/tokens`, pt(all.token))).status).toBe(200);
    // No escalation: a caller without all four cannot grant "everything".
    const minter = await mint(project.id, ['create:*', 'read:*', 'update:*']);
    const denied = await api.post(
      `/v1/projects/${project.id}/tokens`,
      { name: unique(), permissions: [] },
      pt(minter.token),
    );
    expect(denied.status).toBe(403);
    expect(denied.body).toMatchObject({
      error: 'Cannot grant permissions you do not have',
      code: 'authorization_error',
    });
    const patchDenied = await api.patch(
      `/v1/project_tokens/${tok.id}`,
      { name: null, permissions: [] },
      pt(minter.token),
    );
    expect(patchDenied.status).toBe(403);
  });

  it('Tokens pages with last + before, following the Link header to the end', async () => {
    const p = await createProject(raw);
    const made: string[] = [];
    for (let i = 0; i < 7; i++) made.unshift((await mint(p.id, ['read:*'])).id);
    const all = await api.get(`/v1/projects/${p.id}/tokens`);
    expect(all.headers.get('link')).toBeNull();
    expect(all.body.map((x: { id: string }) => x.id)).toEqual(made);

    const pages: string[][] = [];
    let before: string | null = null;
    do {
      const q = new URLSearchParams({ last: '3' });
      if (before) q.set('before', before);
      const res = await api.get(`/v1/projects/${p.id}/tokens?${q.toString()}`);
      expect(res.status).toBe(200);
      for (const x of res.body) expect(x.projectID).toBe(p.id);
      pages.push(res.body.map((x: { id: string }) => x.id));
      before = nextLinkBefore(res.headers.get('link'));
      if (before) {
        expect(res.headers.get('link')).toBe(`</v1/projects/${p.id}/tokens?last=3&before=${before}>; rel="next"`);
        expect(res.headers.get('x-next-cursor')).toBe(before);
      }
    } while (before && pages.length < 10);
    expect(pages.map((x) => x.length)).toEqual([3, 3, 1]);
    expect(pages.flat()).toEqual(made);

    // The name filter travels along in the Link; an exact page end gives no Link.
    const named = await api.get(`/v1/projects/${p.id}/tokens?last=7`);
    expect(named.headers.get('link')).toBeNull();
  });

  it('Projects pages the same way, and a rename or a delete answers as documented', async () => {
    const mine = [await createProject(raw), await createProject(raw), await createProject(raw)];
    const seenIds: string[] = [];
    let before: string | null = null;
    let rounds = 0;
    do {
      // Keyward's projects lack Calyptia's member and agent counts, so this list is not held to the document.
      const res: Res = await raw.get(`/v1/projects?last=2${before ? `&before=${before}` : ''}`);
      expect(res.status).toBe(200);
      seenIds.push(...res.body.map((x: ProjectBody) => x.id));
      before = nextLinkBefore(res.headers.get('link'));
    } while (before && ++rounds < 100);
    for (const p of mine) expect(seenIds.filter((id) => id === p.id)).toHaveLength(1);
    expect((await raw.get(`/v1/projects?name=${encodeURIComponent(mine[0].name)}`)).body).toEqual([mine[0]]);
  });
});

describe('PATCH and DELETE /v1/projects/{projectID}', () => {
  it('renames (204); null leaves the name; a taken name is 409', async () => {
    const a = await createProject(raw);
    const b = await createProject(raw);
    const name = unique('renamed');
    expect((await api.patch(`/v1/projects/${a.id}`, { name })).status).toBe(204);
    expect((await raw.get(`/v1/projects/${a.id}`)).body).toEqual({ ...a, name });
    expect((await api.patch(`/v1/projects/${a.id}`, { name: null })).status).toBe(204);
    expect((await api.patch(`/v1/projects/${a.id}`, {})).status).toBe(204);
    expect((await raw.get(`/v1/projects/${a.id}`)).body.name).toBe(name);
    const taken = await api.patch(`/v1/projects/${a.id}`, { name: b.name });
    expect(taken.status).toBe(409);
    expect(taken.body.error).toBe('A project with this name already exists');
    // The old name is free again.
    expect((await raw.post('/v1/projects', { name: a.name })).status).toBe(201);
  });

  it('needs update:project and a caller confined to no project (a name conflict would reveal other projects)', async () => {
    const p = await createProject(raw);
    const reader = await mint(p.id, ['read:*', 'update:token']);
    const denied = await api.patch(`/v1/projects/${p.id}`, { name: unique() }, pt(reader.token));
    expect(denied.status).toBe(403);
    const updater = await mint(p.id, ['update:project']);
    expect((await api.patch(`/v1/projects/${p.id}`, { name: unique() }, pt(updater.token))).status).toBe(403);
    const other = await createProject(raw);
    expect((await api.patch(`/v1/projects/${other.id}`, { name: unique() }, pt(updater.token))).status).toBe(404);
    expect((await raw.patch(`/v1/projects/${p.id}`, { name: unique() })).status).toBe(204);
  });

  it('deletes: 200 {deleted, deletedAt}, its tokens stop at once, the project is gone and its name free', async () => {
    const p = await createProject(raw);
    const tok = await mint(p.id, ['read:*']);
    const deleter = await mint(p.id, ['delete:project']);
    const narrowed = await raw.post(
      '/auth/tokens',
      { ttl: '1h', projects: [p.id] },
      { headers: { accept: 'application/vnd.pkglatv1+json' } },
    );
    expect(narrowed.status, narrowed.text).toBe(201);
    expect((await raw.get(`/v1/projects/${p.id}`, pt(tok.token))).status).toBe(200);
    expect((await api.delete(`/v1/projects/${p.id}`, pt(tok.token))).status).toBe(403);
    const res = await api.delete(`/v1/projects/${p.id}`, pt(deleter.token));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ deleted: true, deletedAt: expect.any(String) });
    expect(Date.parse(res.body.deletedAt)).not.toBeNaN();
    expect((await raw.get(`/v1/projects/${p.id}`, pt(tok.token))).status).toBe(401);
    expect((await raw.get('/v1/projects', { token: narrowed.body.token })).status).toBe(401);
    expect((await raw.get(`/v1/projects/${p.id}`)).status).toBe(404);
    expect((await api.delete(`/v1/projects/${p.id}`)).status).toBe(404);
    expect((await raw.post('/v1/projects', { name: p.name })).status).toBe(201);
  });
});

describe('expiresAt on project tokens', () => {
  it('is optional, shown in every answer, refused in the past, and capped by the caller', async () => {
    const never = await mint(project.id, ['read:*']);
    expect(never.expiresAt).toBeNull();
    const at = new Date(Date.now() + 3_600_000).toISOString();
    const soon = await mint(project.id, ['read:*'], { expiresAt: at });
    expect(soon.expiresAt).toBe(at);
    expect((await api.get(`/v1/project_tokens/${soon.id}`)).body.expiresAt).toBe(at);
    expect((await mint(project.id, ['read:*'], { expiresAt: null })).expiresAt).toBeNull();
    for (const expiresAt of ['2001-01-01T00:00:00Z', 'tomorrow', 12]) {
      const res = await api.post(`/v1/projects/${project.id}/tokens`, {
        name: unique(),
        permissions: ['read:*'],
        expiresAt,
      });
      expect(res.status, String(expiresAt)).toBe(400);
      expect(res.body.detail).toMatch(/^expiresAt: /);
    }
    // A token made by an expiring token never outlives it.
    const parent = await mint(project.id, ['create:*', 'read:*'], { expiresAt: at });
    const capped = await api.post(
      `/v1/projects/${project.id}/tokens`,
      { name: unique(), permissions: ['read:*'], expiresAt: new Date(Date.now() + 7_200_000).toISOString() },
      pt(parent.token),
    );
    expect(capped.status).toBe(201);
    expect(capped.body.expiresAt).toBe(at);
  });
});

describe('enabled: disable and enable without revoking', () => {
  it('a disabled project token gets 401 and verify says DISABLED; enabled again, it works', async () => {
    const tok = await mint(project.id, ['read:*']);
    const path = `/v1/projects/${project.id}/tokens`;
    expect((await raw.get(path, pt(tok.token))).status).toBe(200);
    expect(
      (await api.patch(`/v1/project_tokens/${tok.id}`, { name: null, permissions: null, enabled: false })).status,
    ).toBe(204);
    expect((await api.get(`/v1/project_tokens/${tok.id}`)).body.enabled).toBe(false);
    const refused = await raw.get(path, pt(tok.token));
    expect(refused.status).toBe(401);
    expect(decodeCalyptiaError(refused.text)).not.toBeInstanceOf(Error);
    expect(await verify(tok.token)).toMatchObject({ valid: false, code: 'DISABLED' });
    // Still listed (not revoked), with enabled false.
    const listed = (await api.get(path)).body.find((x: { id: string }) => x.id === tok.id);
    expect(listed).toMatchObject({ enabled: false });
    expect((await api.patch(`/v1/project_tokens/${tok.id}`, { enabled: true })).status).toBe(204);
    expect((await raw.get(path, pt(tok.token))).status).toBe(200);
    expect(await verify(tok.token)).toMatchObject({ valid: true, code: 'VALID' });
  });

  it('a weaker token can neither disable nor enable a token holding permissions it lacks', async () => {
    const p = await createProject(raw);
    const strong = await mint(p.id, ALL);
    const updater = await mint(p.id, ['update:token', 'read:*']);
    expect((await api.patch(`/v1/project_tokens/${strong.id}`, { enabled: false }, pt(updater.token))).status).toBe(
      403,
    );
    expect((await api.patch(`/v1/project_tokens/${strong.id}`, { enabled: false })).status).toBe(204);
    expect((await api.patch(`/v1/project_tokens/${strong.id}`, { enabled: true }, pt(updater.token))).status).toBe(403);
    expect((await api.get(`/v1/project_tokens/${strong.id}`)).body.enabled).toBe(false);
    expect((await api.patch(`/v1/project_tokens/${strong.id}`, { enabled: true })).status).toBe(204);
    // A token may switch off a token as strong as itself, itself included.
    expect((await api.patch(`/v1/project_tokens/${updater.id}`, { enabled: false }, pt(updater.token))).status).toBe(
      204,
    );
    expect((await raw.get(`/v1/projects/${p.id}/tokens`, pt(updater.token))).status).toBe(401);
  });

  it('Publisher tokens: POST /publisher.v1/api-token/disable and /enable (also at /api-token/)', async () => {
    const made = await raw.post('/publisher.v1/api-token/create', { access: 'read' });
    const { id, token } = made.body as { id: string; token: string };
    expect((await raw.post('/api-token/list', {}, { token })).status).toBe(200);
    const off = await raw.post('/publisher.v1/api-token/disable', { id });
    expect(off.status, off.text).toBe(200);
    expect(off.body).toMatchObject({ id, enabled: false, status: 'active' });
    const refused = await raw.post('/api-token/list', {}, { token });
    expect(refused.status).toBe(401);
    expect(refused.body.error).toMatchObject({ code: 'authentication_error' });
    expect(await verify(token)).toMatchObject({ valid: false, code: 'DISABLED' });
    const listed = await raw.post('/api-token/list', { filters: [{ key: 'status', value: 'active' }] });
    expect(listed.body.data.find((x: { id: string }) => x.id === id)).toMatchObject({ enabled: false });
    const on = await raw.post('/api-token/enable', { id });
    expect(on.status).toBe(200);
    expect(on.body.enabled).toBe(true);
    expect((await raw.post('/api-token/list', {}, { token })).status).toBe(200);
    // Unknown ids are 404, revoked tokens 409, and a read token may not switch tokens.
    expect((await raw.post('/api-token/disable', { id: MISSING })).status).toBe(404);
    const reader = await createGlobalToken(raw, 'read');
    expect((await raw.post('/api-token/disable', { id }, { token: reader })).status).toBe(403);
    expect((await raw.post('/api-token/revoke', { id })).status).toBe(200);
    expect((await raw.post('/api-token/enable', { id })).status).toBe(409);
  });

  it('the admin token is untouched by all this', async () => {
    expect((await raw.get('/v1/projects', { token: ADMIN_TOKEN })).status).toBe(200);
  });
});

describe('coverage', () => {
  it('validated answers of every project-token operation', () => {
    const ops = new Set(seen.map((s) => spec.operation(s.what.split(' ')[0], s.what.split(' ')[1]).operationId));
    for (const op of [
      'createToken',
      'tokens',
      'token',
      'updateToken',
      'deleteToken',
      'updateProject',
      'deleteProject',
    ]) {
      expect(ops).toContain(op);
    }
    expect(seen.filter((s) => s.problems.length)).toEqual([]);
  });
});
