import { describe, expect, it } from 'vitest';
import { envelopeOf, useApp } from '../support/app.js';
import { createProject, createProjectToken } from '../support/projects.js';

const t = useApp();
const api = t.api;

const works = async (token: string) => (await api.post('/api-token/list', {}, { token })).status;

describe.each(['/publisher.v1/api-token/rotate', '/api-token/rotate'])('POST %s', (path) => {
  it('issues a new secret for the same token; without a grace the old one stops at once', async () => {
    const made = (await api.post('/api-token/create', { access: 'read', description: 'svc' })).body;
    expect(await works(made.token)).toBe(200); // now cached
    const res = await api.post(path, { id: made.id });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: made.id, access: 'read', description: 'svc', previous_expires_at: null });
    expect(res.body.token).not.toBe(made.token);
    expect(res.body.token.slice(0, 19)).toBe(made.token.slice(0, 19)); // same lookup id, same stub
    expect(await works(made.token)).toBe(401);
    expect(await works(res.body.token)).toBe(200);
  });

  it('keeps the old secret valid for the grace period, then not', async () => {
    const made = (await api.post('/api-token/create', { access: 'read' })).body;
    const res = await api.post(path, { id: made.id, grace: '2s' });
    expect(res.status).toBe(200);
    expect(new Date(res.body.previous_expires_at).getTime()).toBeGreaterThan(Date.now());
    expect(await works(made.token)).toBe(200);
    expect(await works(res.body.token)).toBe(200);
    await new Promise((r) => setTimeout(r, 2100));
    expect(await works(made.token)).toBe(401);
    expect(await works(res.body.token)).toBe(200);
  });

  it('refuses revoked tokens (409), unknown ids (404), bad graces (400) and read callers (403)', async () => {
    const made = (await api.post('/api-token/create', { access: 'read' })).body;
    await api.post('/api-token/revoke', { id: made.id });
    expect(envelopeOf(await api.post(path, { id: made.id })).code).toBe('conflict');
    expect((await api.post(path, { id: '123e4567-e89b-12d3-a456-426614174000' })).status).toBe(404);
    for (const grace of ['-1s', 'forever', '31d', 5]) {
      expect((await api.post(path, { id: made.id, grace })).status, String(grace)).toBe(400);
    }
    const reader = (await api.post('/api-token/create', { access: 'read' })).body;
    expect((await api.post(path, { id: reader.id }, { token: reader.token })).status).toBe(403);
  });
});

describe('POST /v1/tokens/{id}/rotate', () => {
  it('rotates a project token for a caller with update:token in that project, and nobody else', async () => {
    const project = await createProject(api);
    const other = await createProject(api);
    const target = await createProjectToken(api, project.id, ['read:token']);
    const updater = await createProjectToken(api, project.id, ['update:token', 'read:token']);
    const stranger = await createProjectToken(api, other.id, ['update:*', 'read:*']);
    const reader = await createProjectToken(api, project.id, ['read:*']);

    expect((await api.post(`/v1/tokens/${target.id}/rotate`, {}, { token: stranger.token })).status).toBe(404);
    expect((await api.post(`/v1/tokens/${target.id}/rotate`, {}, { token: reader.token })).status).toBe(403);
    const res = await api.post(`/v1/tokens/${target.id}/rotate`, { grace: '0s' }, { token: updater.token });
    expect(res.status).toBe(200);
    expect(res.body.id).toBe(target.id);
    const list = (t: string) => api.get(`/v1/projects/${project.id}/tokens`, { token: t, header: 'x-project-token' });
    expect((await list(target.token)).status).toBe(401);
    expect((await list(res.body.token)).status).toBe(200);
  });

  it('is 400 for a malformed id and 401 without a token', async () => {
    expect((await api.post('/v1/tokens/not-a-uuid/rotate', {})).status).toBe(400);
    expect((await api.post('/v1/tokens/123e4567-e89b-12d3-a456-426614174000/rotate', {}, { token: null })).status).toBe(
      401,
    );
  });
});
