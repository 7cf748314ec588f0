import { beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, envelopeOf, useApp } from '../support/app.js';
import { createProject, createProjectToken, type ProjectBody } from '../support/projects.js';

let project: ProjectBody;
let other: ProjectBody;
let projectReader: string;
let globalReader: string;
let globalWriter: string;

const t = useApp();
const api = t.api;

beforeAll(async () => {
  project = await createProject(api);
  other = await createProject(api);
  projectReader = (await createProjectToken(api, project.id, ['read:token'])).token;
  globalReader = (await api.post('/api-token/create', { access: 'read' })).body.token;
  globalWriter = (await api.post('/api-token/create', { access: 'write' })).body.token;
});

const check = (query = '', token: string | null = ADMIN_TOKEN, header?: string, headers?: Record<string, string>) =>
  api.get(`/v1/auth/check${query}`, { token, header, headers });

describe('GET /v1/auth/check', () => {
  it('200 with identity headers and no body for a valid token, in every header style', async () => {
    for (const header of ['authorization', 'x-token', 'x-api-key', 'x-project-token']) {
      const res = await check('', globalReader, header);
      expect(res.status, header).toBe(200);
      expect(res.text).toBe('');
      expect(res.headers.get('x-keyward-token-id')).toMatch(/^[0-9a-f-]{36}$/);
      expect(res.headers.get('x-keyward-permissions')).toBe('read:*');
      expect(res.headers.get('x-keyward-projects')).toBe('*');
    }
    const proj = await check('', projectReader);
    expect(proj.status).toBe(200);
    expect(proj.headers.get('x-keyward-permissions')).toBe('read:token');
    expect(proj.headers.get('x-keyward-projects')).toBe(project.id);
    const admin = await check();
    expect(admin.headers.get('x-keyward-token-id')).toBe('admin');
  });

  it('answers HEAD like GET, without a body', async () => {
    const ok = await api.call('HEAD', '/v1/auth/check', { token: globalReader });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('x-keyward-permissions')).toBe('read:*');
    expect((await api.call('HEAD', '/v1/auth/check', { token: 'garbage' })).status).toBe(401);
  });

  it('401 in the envelope for a missing, garbage, unknown or revoked token', async () => {
    const revoked = (await api.post('/api-token/create', { access: 'read' })).body;
    await api.post('/api-token/revoke', { id: revoked.id });
    for (const token of [null, 'garbage', 'kw_' + 'A'.repeat(65), revoked.token, 'x'.repeat(4000)]) {
      const res = await check('', token);
      expect(res.status, String(token).slice(0, 12)).toBe(401);
      expect(envelopeOf(res)).toMatchObject({ code: 'authentication_error', message: 'Invalid or missing API token' });
      expect(res.headers.get('x-keyward-token-id')).toBeNull();
    }
  });

  it('401 "Token expired" for an expired token', async () => {
    const exp = (await api.post('/auth/tokens', { ttl: '1s' })).body.token;
    await new Promise((r) => setTimeout(r, 1200));
    const res = await check('', exp);
    expect(res.status).toBe(401);
    expect(envelopeOf(res).message).toBe('Token expired');
  });

  it('checks the permission the gateway asks for: 403 when not held', async () => {
    expect((await check('?permission=read:token', globalReader)).status).toBe(200);
    const res = await check('?permission=delete:token', globalReader);
    expect(res.status).toBe(403);
    expect(envelopeOf(res).code).toBe('authorization_error');
    expect((await check('?permission=delete:token', globalWriter)).status).toBe(200);
    expect((await check('?permission=create:project', projectReader)).status).toBe(403);
  });

  it("checks the project (id or name): 403 outside the token's projects", async () => {
    expect((await check(`?project=${project.id}`, projectReader)).status).toBe(200);
    expect((await check(`?project=${encodeURIComponent(project.name)}`, projectReader)).status).toBe(200);
    expect((await check(`?project=${other.id}`, projectReader)).status).toBe(403);
    expect(
      (await check(`?project=${encodeURIComponent(other.name)}&permission=read:token`, projectReader)).status,
    ).toBe(403);
    expect((await check('?project=no-such-project', projectReader)).status).toBe(403);
    expect((await check(`?project=${other.id}`, globalReader)).status).toBe(200);
  });

  it('400 for a query it cannot understand', async () => {
    for (const q of [
      '?permission=root',
      '?permission=read:token&permission=read:*',
      '?project=',
      `?project=${'p'.repeat(201)}`,
    ]) {
      const res = await check(q, globalReader);
      expect(res.status, q).toBe(400);
      expect(envelopeOf(res).code).toBe('bad_request');
    }
  });

  it('consumes a single-use token on its one 200, not on a 403', async () => {
    const once = (await api.post('/auth/tokens', { ttl: '1h', remove_on_use: true, access: 'read' })).body.token;
    expect((await check('?permission=delete:token', once)).status).toBe(403);
    expect((await check('?permission=read:token', once)).status).toBe(200);
    expect((await check('', once)).status).toBe(401);
  });

  it('exactly one of many concurrent checks of a single-use token passes', async () => {
    const once = (await api.post('/auth/tokens', { ttl: '1h', remove_on_use: true })).body.token;
    const results = await Promise.all(Array.from({ length: 10 }, () => check('', once)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 401)).toHaveLength(9);
  });

  it("ignores the gateway's original method/URI headers for the verdict", async () => {
    const headers = { 'x-original-method': 'DELETE', 'x-original-uri': '/admin?x=1', 'x-forwarded-method': 'POST' };
    expect((await check('', globalReader, undefined, headers)).status).toBe(200);
    expect((await check('', null, undefined, headers)).status).toBe(401);
  });
});
