/**
 * Eight concrete ways one ordinary token might try to widen its own rights, each played step by step
 * over HTTP and each expected to be refused (403 or 404) with nothing changed.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { DatabaseService } from '../../src/database/database.service.js';
import { useApp } from '../support/app.js';
import { storedRights, WRITE_RIGHTS, writeTokensFile } from '../support/authz.js';
import { createProject, createProjectToken, type ProjectBody, unique } from '../support/projects.js';

const FILE_P = 'authz-regressions-file-token-confined-to-p-0123456789';
const FILE_LATER = 'authz-regressions-file-token-for-a-later-project-012345';
const P_NAME = unique('reg-p');
const LATER_NAME = unique('reg-later');

let P: ProjectBody;
let Q: ProjectBody;

const tokenCount = () => t.app.get(DatabaseService).prisma.apiToken.count();

async function ttl(body: Record<string, unknown>, token?: string): Promise<{ id: string; token: string }> {
  const res = await api.post('/auth/tokens', body, token ? { token } : {});
  expect(res.status, res.text).toBe(201);
  return res.body;
}

async function publisher(access: 'read' | 'write', token?: string): Promise<{ id: string; token: string }> {
  const res = await api.post('/publisher.v1/api-token/create', { access }, token ? { token } : {});
  expect(res.status, res.text).toBe(200);
  return res.body;
}

/** Does `token` still authenticate (whatever it may then do)? */
const works = async (token: string) => (await api.get('/v1/projects', { token })).status !== 401;

const t = useApp(() => {
  const file = writeTokensFile({
    'confined-p': { token: FILE_P, projects: [P_NAME] },
    'confined-later': { token: FILE_LATER, projects: [LATER_NAME] },
  });
  return { KEYWARD_TOKENS_FILE: file };
});
const api = t.api;

beforeAll(async () => {
  P = await createProject(api, P_NAME);
  Q = await createProject(api);
});

describe('a token cannot widen its own rights', () => {
  it('Publisher routes check permissions: a [read:token] token cannot revoke, a [create:token] one cannot list', async () => {
    const weak = await ttl({ ttl: '1h', permissions: ['read:token'] });
    const victim = await publisher('write');
    const revoke = await api.post('/publisher.v1/api-token/revoke', { id: victim.id }, { token: weak.token });
    expect(revoke.status, revoke.text).toBe(403);
    expect((await storedRights(t, [victim.id])).get(victim.id)!.revoked).toBe(false);
    expect(await works(victim.token)).toBe(true);

    const creator = await ttl({ ttl: '1h', permissions: ['create:token'] });
    const list = await api.post('/api-token/list', {}, { token: creator.token });
    expect(list.status, list.text).toBe(403);
  });

  it('an empty permission list is never read as read:* ([create:token] asks /auth/tokens for access read)', async () => {
    const parent = await ttl({ ttl: '1h', permissions: ['create:token'] });
    const projectParent = await createProjectToken(api, P.id, ['create:token']);
    for (const token of [parent.token, projectParent.token]) {
      const before = await tokenCount();
      const res = await api.post('/auth/tokens', { ttl: '1h', access: 'read' }, { token });
      expect(res.status, res.text).toBe(403);
      expect(await tokenCount()).toBe(before);
      const list = await api.get(`/v1/projects/${P.id}/tokens`, { token });
      expect(list.status, list.text).toBe(403);
    }
    const stored = await t.app
      .get(DatabaseService)
      .prisma.apiToken.count({ where: { permissions: { isEmpty: true } } });
    expect(stored, 'no stored permission list is empty').toBe(0);
  });

  it('a project token cannot take over a global token scoped to its project by rotating it', async () => {
    const projectToken = await createProjectToken(api, P.id, ['read:*', 'update:token']);
    // A global token that holds more than the project token: rotating it is refused, nothing changes.
    const stronger = await ttl({ ttl: '1h', projects: [P.id] });
    const before = (await storedRights(t, [stronger.id])).get(stronger.id);
    const res = await api.post(`/v1/tokens/${stronger.id}/rotate`, {}, { token: projectToken.token });
    expect([403, 404], res.text).toContain(res.status);
    expect(res.body?.token).toBeUndefined();
    expect((await storedRights(t, [stronger.id])).get(stronger.id)).toEqual(before);
    expect(await works(stronger.token), 'the old secret still works').toBe(true);

    // The chain: a global token asked with permissions [read:*] only (never read as `write`).
    // Whatever the rotation answers, its secret reaches nothing the project token lacks.
    const readOnly = await ttl({ ttl: '1h', projects: [P.id], permissions: ['read:*'] });
    const rotated = await api.post(`/v1/tokens/${readOnly.id}/rotate`, {}, { token: projectToken.token });
    const secret = rotated.status === 200 ? (rotated.body.token as string) : readOnly.token;
    const create = await api.post('/publisher.v1/api-token/create', { access: 'write' }, { token: secret });
    expect(create.status, create.text).toBe(403);
    const list = await api.post('/publisher.v1/api-token/list', {});
    const shown = list.body.data.find((d: { id: string }) => d.id === readOnly.id);
    expect(shown.access, 'access is derived from the permissions').toBe('read');
  });

  it('a token scoped to P neither lists nor revokes a token scoped to P and Q', async () => {
    const scoped = await ttl({ ttl: '2h', projects: [P.id] });
    const wider = await ttl({ ttl: '1h', projects: [P.id, Q.id] });
    const list = await api.post('/publisher.v1/api-token/list', {}, { token: scoped.token });
    expect(list.status, list.text).toBe(200);
    expect(list.body.data.map((d: { id: string }) => d.id)).not.toContain(wider.id);
    const revoke = await api.post('/publisher.v1/api-token/revoke', { id: wider.id }, { token: scoped.token });
    expect(revoke.status, revoke.text).toBe(404);
    expect((await storedRights(t, [wider.id])).get(wider.id)!.revoked).toBe(false);
    expect(await works(wider.token)).toBe(true);
  });

  it('confined tokens do not create projects (tokens file by name, TTL token scoped to one project)', async () => {
    const scoped = await ttl({ ttl: '1h', projects: [P.id] });
    for (const token of [FILE_P, scoped.token]) {
      const res = await api.post('/v1/projects', { name: unique('escape') }, { token });
      expect(res.status, res.text).toBe(403);
    }
    // A file token confined by name to a project that does not exist yet cannot create it.
    const res = await api.post('/v1/projects', { name: LATER_NAME }, { token: FILE_LATER });
    expect(res.status, res.text).toBe(403);
    const all = await api.get('/v1/projects?limit=1000');
    expect(all.body.map((p: ProjectBody) => p.name)).not.toContain(LATER_NAME);
  });

  it('the one use of a single-use token cannot mint a reusable child (/auth/tokens, Publisher create)', async () => {
    const viaTtl = await ttl({ ttl: '1h', remove_on_use: true });
    let before = await tokenCount();
    const a = await api.post('/auth/tokens', { ttl: '1h', remove_on_use: false }, { token: viaTtl.token });
    expect(a.status, a.text).toBe(403);
    expect(await tokenCount()).toBe(before);

    const viaPublisher = await ttl({ ttl: '1h', remove_on_use: true });
    before = await tokenCount();
    const b = await api.post('/publisher.v1/api-token/create', { access: 'write' }, { token: viaPublisher.token });
    expect(b.status, b.text).toBe(403);
    expect(await tokenCount()).toBe(before);
  });

  it('a weaker token cannot downgrade or rename a stronger one', async () => {
    const strong = await createProjectToken(api, P.id, WRITE_RIGHTS);
    const weak = await createProjectToken(api, P.id, ['update:token', 'read:token']);
    const before = (await storedRights(t, [strong.id])).get(strong.id);
    for (const path of [`/v1/project_tokens/${strong.id}`, `/v1/projects/${P.id}/tokens/${strong.id}`]) {
      const res = await api.patch(
        path,
        { name: unique('renamed'), permissions: ['read:token'] },
        { token: weak.token },
      );
      expect(res.status, res.text).toBe(403);
    }
    expect((await storedRights(t, [strong.id])).get(strong.id)).toEqual(before);
    expect(await works(strong.token)).toBe(true);
  });

  it('revoking a token revokes every token created through it, at once, and says how many', async () => {
    const parent = await publisher('write');
    const child = await ttl({ ttl: '1h' }, parent.token);
    const grandchild = await publisher('read', child.token);
    const projectChild = await createProjectToken(api, P.id, ['read:token'], { token: parent.token });
    const bystander = await publisher('write');
    // Rotation keeps the tree: the child's new secret goes with it.
    const rotated = await api.post(`/v1/tokens/${child.id}/rotate`, {});
    expect(rotated.status, rotated.text).toBe(200);
    const tree = [rotated.body.token as string, grandchild.token, projectChild.token];
    // Authenticated once, so any verification cache holds them.
    for (const token of [...tree, bystander.token]) expect(await works(token)).toBe(true);

    const res = await api.post('/publisher.v1/api-token/revoke', { id: parent.id });
    expect(res.status, res.text).toBe(200);
    expect(res.body.revoked_descendants, 'the answer says how many were revoked with it').toBe(3);
    for (const token of [parent.token, ...tree]) expect(await works(token)).toBe(false);
    expect(await works(bystander.token)).toBe(true);
    const rights = await storedRights(t, [child.id, grandchild.id, projectChild.id, bystander.id]);
    expect([child.id, grandchild.id, projectChild.id].map((id) => rights.get(id)!.revoked)).toEqual([true, true, true]);
    expect(rights.get(bystander.id)!.revoked).toBe(false);

    // Deleting a project token does the same for what it created.
    const projectParent = await createProjectToken(api, P.id, WRITE_RIGHTS);
    const sub = await ttl({ ttl: '1h' }, projectParent.token);
    expect(await works(sub.token)).toBe(true);
    const deleted = await api.delete(`/v1/project_tokens/${projectParent.id}`);
    expect(deleted.status).toBe(204);
    expect(deleted.headers.get('x-revoked-descendants')).toBe('1');
    expect(await works(sub.token)).toBe(false);
  });
});
