/**
 * Rights that hold over time, under concurrency and at every entry point: project references, the
 * rotation grace, create ∥ revoke, effective rights through the token tree (disable, narrowing,
 * tokens-file entries), renames and deletes, existence of other projects, and tokens-file names.
 * Each test attacks the way an ordinary token holder would, over HTTP, and checks nothing was gained.
 * SECURITY.md names these tests next to the invariants they hold.
 */
import { writeFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { DatabaseService } from '../../src/database/database.service.js';
import { TokensFileService } from '../../src/verification/tokens-file/tokens-file.service.js';
import { useApp } from '../support/app.js';
import { writeTokensFile } from '../support/authz.js';
import { TEST_DB_MODE } from '../support/db.js';
import { createProject, createProjectToken, type ProjectBody, unique } from '../support/projects.js';

const CI_SECRET = 'rights-over-time-ci-deploy-token-0123456789';
const WRITER_SECRET = 'rights-over-time-file-writer-token-0123456789';
const UPLOAD_NAME = unique('docs-upload');
/** Concurrent create-child ∥ revoke-parent pairs (really concurrent on PostgreSQL; PGlite runs one at a time). */
const PAIRS = TEST_DB_MODE === 'pglite' ? 30 : 100;

let P: ProjectBody;
let Q: ProjectBody;

const db = () => t.app.get(DatabaseService).prisma;

interface FileEntry {
  token: string;
  projects?: string[];
  access?: string;
  enabled?: boolean;
}
const FILE_ENTRIES: Record<string, FileEntry> = {
  'ci-deploy': { token: CI_SECRET, projects: ['my-app', UPLOAD_NAME], access: 'write' },
  writer: { token: WRITER_SECRET, access: 'write' },
};
const file = writeTokensFile({});
writeFileSync(file, JSON.stringify({ tokens: FILE_ENTRIES }), { mode: 0o600 });
const t = useApp({ KEYWARD_TOKENS_FILE: file });
const api = t.api;

/** Runs `n` tasks, WAVE at a time (the argon2 queue of one test process is bounded). */
const WAVE = 16;
async function inWaves<T>(n: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i += WAVE) {
    out.push(...(await Promise.all(Array.from({ length: Math.min(WAVE, n - i) }, (_, k) => task(i + k)))));
  }
  return out;
}

async function reloadFile(entries: Record<string, FileEntry>): Promise<void> {
  writeFileSync(file, JSON.stringify({ tokens: entries }, null, 2), { mode: 0o600 });
  await t.app.get(TokensFileService).reload();
}

async function ttl(body: Record<string, unknown>, token?: string): Promise<{ id: string; token: string }> {
  const res = await api.post('/auth/tokens', body, token ? { token } : {});
  expect(res.status, res.text).toBe(201);
  return res.body;
}

async function publisher(
  access: 'read' | 'write',
  token?: string,
): Promise<{ id: string; token: string; expires_at: string | null }> {
  const res = await api.post('/api-token/create', { access }, token ? { token } : {});
  expect(res.status, res.text).toBe(200);
  return res.body;
}

async function verify(token: string, extra: Record<string, unknown> = {}) {
  const res = await api.post('/v1/tokens/verify', { token, ...extra });
  expect(res.status, res.text).toBe(200);
  return res.body as { code: string; valid: boolean; token?: { permissions: string[]; projects: string[] | null } };
}

beforeAll(async () => {
  P = await createProject(api);
  Q = await createProject(api);
}, 180_000);

describe('project references', () => {
  it('a project name shaped like a project id is refused, so an id never names two projects', async () => {
    const A = await createProject(api);
    const owner = await createProjectToken(api, A.id, ['update:project', 'read:token']);
    // The attack: A's token renames A to Q's id, then Q's owner renames Q (Q's row is written again).
    const byOwner = await api.patch(`/v1/projects/${A.id}`, { name: Q.id }, { token: owner.token });
    expect((await api.patch(`/v1/projects/${Q.id}`, { name: unique('q-renamed') })).status).toBe(204);
    // A's token still reaches only A, by id and through the gateway.
    const gate = await api.get(`/v1/auth/check?project=${Q.id}`, { token: owner.token });
    expect(gate.status, gate.text).toBe(403);
    expect((await verify(owner.token, { project: Q.id })).code).toBe('FORBIDDEN');
    expect((await verify(owner.token, { project: A.id })).code).toBe('VALID');
    // Such a rename is refused, to the owner and to the admin alike, and so is such a name at creation.
    expect([400, 403], byOwner.text).toContain(byOwner.status);
    for (const name of [Q.id, Q.id.toUpperCase(), ` ${Q.id} `]) {
      const byAdmin = await api.patch(`/v1/projects/${A.id}`, { name });
      expect(byAdmin.status, byAdmin.text).toBe(400);
      const created = await api.post('/v1/projects', { name });
      expect(created.status, created.text).toBe(400);
    }
  });
});

describe('rotation grace', () => {
  it('a secret in its rotation grace creates nothing that outlives the grace and cannot manage its own token', async () => {
    const owner = await publisher('write');
    const rotated = await api.post('/api-token/rotate', { id: owner.id, grace: '1m' });
    expect(rotated.status, rotated.text).toBe(200);
    const graceEnd = Date.parse(rotated.body.previous_expires_at);
    const leaked = owner.token;

    const child = await api.post('/api-token/create', { access: 'write' }, { token: leaked });
    expect(child.status, child.text).toBe(200);
    expect(child.body.expires_at).not.toBeNull();
    expect(Date.parse(child.body.expires_at)).toBeLessThanOrEqual(graceEnd);
    const ttlChild = await ttl({ ttl: '7d' }, leaked);
    const stored = await db().apiToken.findUnique({ where: { id: ttlChild.id } });
    expect(stored!.expiresAt!.getTime()).toBeLessThanOrEqual(graceEnd);

    for (const [path, body] of [
      ['/api-token/rotate', { id: owner.id }],
      ['/api-token/disable', { id: owner.id }],
      ['/api-token/revoke', { id: owner.id }],
    ] as const) {
      const res = await api.post(path, body, { token: leaked });
      expect(res.status, `${path}: ${res.text}`).toBe(403);
    }
    const v1 = await api.post(`/v1/tokens/${owner.id}/rotate`, {}, { token: leaked });
    expect(v1.status, v1.text).toBe(403);
    expect((await verify(rotated.body.token)).code).toBe('VALID');

    // Project tokens: PATCH and DELETE of its own token are refused the same way.
    const pt = await createProjectToken(api, P.id, ['create:*', 'read:*', 'update:*', 'delete:*']);
    const ptRotated = await api.post(`/v1/tokens/${pt.id}/rotate`, { grace: '1m' });
    expect(ptRotated.status, ptRotated.text).toBe(200);
    const patch = await api.patch(`/v1/project_tokens/${pt.id}`, { enabled: false }, { token: pt.token });
    expect(patch.status, patch.text).toBe(403);
    const del = await api.delete(`/v1/project_tokens/${pt.id}`, { token: pt.token });
    expect(del.status, del.text).toBe(403);
    expect((await verify(ptRotated.body.token)).code).toBe('VALID');
  });
});

describe('create and revoke serialize', () => {
  it(
    `no token is stored under a revoked ancestor: ${PAIRS} concurrent create-child and revoke-parent pairs`,
    { timeout: 300_000 },
    async () => {
      const strong = ['create:*', 'read:*', 'update:*', 'delete:*'];
      const parents = await inWaves(PAIRS, async (i) => {
        const parent = i % 2 ? await publisher('write') : await createProjectToken(api, P.id, strong);
        await verify(parent.token); // cached: its create below races the revocation without argon2 first
        return parent;
      });
      const children: string[] = [];
      await inWaves(PAIRS, async (i) => {
        const parent = parents[i];
        const create =
          i % 2
            ? api.post('/api-token/create', { access: 'write' }, { token: parent.token })
            : api.post(`/v1/projects/${P.id}/tokens`, { name: unique('c'), permissions: [] }, { token: parent.token });
        const revoke =
          i % 2 ? api.post('/api-token/revoke', { id: parent.id }) : api.delete(`/v1/project_tokens/${parent.id}`);
        const [made, gone] = await Promise.all([create, revoke]);
        expect([200, 204], gone.text).toContain(gone.status);
        expect([200, 201, 401], made.text).toContain(made.status);
        if (made.status < 300) children.push(made.body.token);
      });
      const escaped = await t.app.get(DatabaseService).sql.query<{ id: string }>(
        `SELECT c.id::text AS id FROM api_tokens c JOIN api_tokens p ON p.id::text = c.created_by_id
        WHERE c.revoked_at IS NULL AND p.revoked_at IS NOT NULL`,
      );
      expect(escaped, 'live tokens under a revoked parent').toEqual([]);
      for (const token of children) expect((await verify(token)).code).toBe('REVOKED');
    },
  );

  it('DELETE of an already revoked project token still revokes whatever lives below it', async () => {
    const parent = await createProjectToken(api, P.id, ['create:*', 'read:*', 'update:*', 'delete:*']);
    const child = await createProjectToken(api, P.id, ['read:*'], { token: parent.token });
    expect((await api.delete(`/v1/project_tokens/${parent.id}`)).status).toBe(204);
    expect((await verify(child.token)).code).toBe('REVOKED');
    const again = await api.delete(`/v1/project_tokens/${parent.id}`);
    expect(again.status, again.text).toBe(204);
    expect(again.headers.get('x-revoked-descendants')).toBe('0');
    const hidden = await api.delete(`/v1/project_tokens/${parent.id}`, {
      token: (await createProjectToken(api, Q.id, ['delete:*'])).token,
    });
    expect(hidden.status).toBe(404);
  });
});

describe('effective rights through the token tree', () => {
  it('a disabled parent suspends its descendants at once; enabling it restores them', async () => {
    const parent = await publisher('write');
    const child = await publisher('write', parent.token);
    const grandchild = await ttl({ ttl: '1h' }, child.token);
    expect((await verify(grandchild.token)).code).toBe('VALID');
    expect((await api.post('/api-token/disable', { id: parent.id })).status).toBe(200);
    for (const tok of [child.token, grandchild.token]) {
      expect((await verify(tok)).code).toBe('DISABLED');
      const made = await api.post('/api-token/create', { access: 'read' }, { token: tok });
      expect(made.status, made.text).toBe(401);
    }
    expect((await api.post('/api-token/enable', { id: parent.id })).status).toBe(200);
    expect((await verify(grandchild.token)).code).toBe('VALID');
  });

  it('narrowing a parent (PATCH) narrows its descendants at once, and they create nothing beyond it', async () => {
    const parent = await createProjectToken(api, P.id, ['create:*', 'read:*', 'update:*', 'delete:*']);
    const child = await createProjectToken(api, P.id, [], { token: parent.token });
    expect((await verify(child.token)).token?.permissions).toEqual(['create:*', 'read:*', 'update:*', 'delete:*']);
    const narrowed = await api.patch(`/v1/project_tokens/${parent.id}`, {
      permissions: ['read:token', 'create:token'],
    });
    expect(narrowed.status, narrowed.text).toBe(204);
    const seen = await verify(child.token);
    expect(seen.code).toBe('VALID');
    expect(seen.token?.permissions).toEqual(['create:token', 'read:token']);
    const wide = await api.post(
      `/v1/projects/${P.id}/tokens`,
      { name: unique('w'), permissions: [] },
      { token: child.token },
    );
    expect(wide.status, wide.text).toBe(403);
    const del = await api.delete(`/v1/project_tokens/${parent.id}`, { token: child.token });
    expect(del.status, del.text).toBe(403);
    const inside = await api.post(
      `/v1/projects/${P.id}/tokens`,
      { name: unique('n'), permissions: ['read:token'] },
      { token: child.token },
    );
    expect(inside.status, inside.text).toBe(201);
  });

  it('a tokens-file entry bounds the tokens it created: disabled or removed ends them, narrowed narrows them, and the admin revokes them for good', async () => {
    const child = await publisher('write', WRITER_SECRET);
    const grandchild = await publisher('write', child.token);
    expect((await verify(grandchild.token)).code).toBe('VALID');

    await reloadFile({ ...FILE_ENTRIES, writer: { ...FILE_ENTRIES.writer, enabled: false } });
    expect((await verify(child.token)).code).toBe('DISABLED');
    expect((await api.post('/api-token/create', { access: 'read' }, { token: grandchild.token })).status).toBe(401);

    await reloadFile({ 'ci-deploy': FILE_ENTRIES['ci-deploy'] });
    expect((await verify(grandchild.token)).code).toBe('DISABLED');

    await reloadFile({ ...FILE_ENTRIES, writer: { ...FILE_ENTRIES.writer, access: 'read' } });
    const narrowed = await verify(grandchild.token);
    expect(narrowed.code).toBe('VALID');
    expect(narrowed.token?.permissions).toEqual(['read:*']);
    expect((await api.post('/api-token/create', { access: 'read' }, { token: grandchild.token })).status).toBe(403);

    const notAdmin = await api.delete('/v1/tokens-file/entries/writer/tokens', { token: WRITER_SECRET });
    expect(notAdmin.status, notAdmin.text).toBe(403);
    const revoked = await api.delete('/v1/tokens-file/entries/writer/tokens');
    expect(revoked.status, revoked.text).toBe(200);
    expect(revoked.body.revoked).toBeGreaterThanOrEqual(2);
    await reloadFile(FILE_ENTRIES);
    expect((await verify(child.token)).code).toBe('REVOKED');
    expect((await verify(grandchild.token)).code).toBe('REVOKED');
  });
});

describe('renames and deletes', () => {
  it('a rename never hands a tokens-file token a project it lacked', async () => {
    const A = await createProject(api);
    const owner = await createProjectToken(api, A.id, ['update:project', 'read:project']);
    const fileTokenCreatesInA = () =>
      api.post(`/v1/projects/${A.id}/tokens`, { name: unique('f'), permissions: [] }, { token: CI_SECRET });
    // The attack: A's token renames A to the name the tokens-file entry is confined to.
    const byOwner = await api.patch(`/v1/projects/${A.id}`, { name: UPLOAD_NAME }, { token: owner.token });
    const afterOwner = await fileTokenCreatesInA();
    expect(afterOwner.status, afterOwner.text).toBe(404);
    // A confined token cannot rename at all; the admin can, but the file entry does not follow.
    expect(byOwner.status, byOwner.text).toBe(403);
    expect((await api.patch(`/v1/projects/${A.id}`, { name: UPLOAD_NAME })).status).toBe(204);
    const made = await fileTokenCreatesInA();
    expect(made.status, made.text).toBe(404);
    expect((await api.get(`/v1/projects/${A.id}`, { token: CI_SECRET })).status).toBe(404);
    // Upload semantics stay by name: the entry may upload to the name it lists.
    expect((await verify(CI_SECRET, { project: UPLOAD_NAME })).code).toBe('VALID');
  });

  it('a token whose tokens-file root lost its project (renamed away) stays invisible to other projects, live or revoked', async () => {
    const name = unique('left-behind');
    const secret = 'rights-over-time-left-behind-token-0123456789';
    await reloadFile({ ...FILE_ENTRIES, 'left-behind': { token: secret, projects: [name], access: 'write' } });
    try {
      const A = await createProject(api, name);
      const child = await createProjectToken(api, A.id, ['read:token'], { token: secret });
      // The admin renames A: the entry no longer reaches it, so the child's effective projects are none.
      expect((await api.patch(`/v1/projects/${A.id}`, { name: unique('renamed') })).status).toBe(204);
      const outsider = await createProjectToken(api, Q.id, ['read:token']);
      const seenBy = async (token: string) =>
        (await api.post('/v1/tokens/verify', { token }, { token: outsider.token })).body.code as string;
      const introspected = async (token: string) =>
        (await api.post('/oauth2/introspect', { token }, { token: outsider.token })).body as { active: boolean };
      expect(await seenBy(child.token)).toBe('NOT_FOUND');
      expect(await introspected(child.token)).toEqual({ active: false });
      expect((await api.delete(`/v1/project_tokens/${child.id}`)).status).toBe(204);
      expect(await seenBy(child.token)).toBe('NOT_FOUND');
      expect((await verify(child.token)).code).toBe('REVOKED'); // the admin sees it
    } finally {
      await reloadFile(FILE_ENTRIES);
    }
  });

  it('a project delete by a delete:project-only token audits every token it revokes', async () => {
    const A = await createProject(api);
    const strong = await createProjectToken(api, A.id, ['create:*', 'read:*', 'update:*', 'delete:*']);
    const below = await createProjectToken(api, A.id, ['read:*'], { token: strong.token });
    const narrowedGlobal = await ttl({ ttl: '1h', projects: [A.id], permissions: ['read:token'] });
    const deleter = await createProjectToken(api, A.id, ['delete:project']);
    const res = await api.delete(`/v1/projects/${A.id}`, { token: deleter.token });
    expect(res.status, res.text).toBe(200);
    const ended = [strong.id, below.id, narrowedGlobal.id, deleter.id];
    const rows = await db().auditEvent.findMany({ where: { action: 'token.revoke', targetId: { in: ended } } });
    expect(new Set(rows.map((r) => r.targetId))).toEqual(new Set(ended));
    expect(rows.every((r) => r.actor === deleter.id)).toBe(true);
    expect((await verify(narrowedGlobal.token)).code).not.toBe('VALID');
  });
});

describe('projects outside the caller', () => {
  it('POST /auth/tokens answers the same for a project in another scope and for no project', async () => {
    const confined = await createProjectToken(api, P.id, ['create:*', 'read:*']);
    const elsewhere = await api.post('/auth/tokens', { ttl: '1h', projects: [Q.id] }, { token: confined.token });
    const nowhere = await api.post(
      '/auth/tokens',
      { ttl: '1h', projects: ['5f0c6a0e-0000-4000-8000-000000000000'] },
      { token: confined.token },
    );
    const byName = await api.post('/auth/tokens', { ttl: '1h', projects: [Q.name] }, { token: confined.token });
    const noName = await api.post('/auth/tokens', { ttl: '1h', projects: [unique('none')] }, { token: confined.token });
    const strip = (r: { status: number; body: { error: Record<string, unknown> } }) => ({
      status: r.status,
      error: { ...r.body.error, trace_id: undefined },
    });
    expect(strip(elsewhere)).toEqual(strip(nowhere));
    expect(strip(byName)).toEqual(strip(noName));
    expect(elsewhere.status).toBe(403);
  });
});

describe('tokens-file names', () => {
  it('verify answers VALID for a project name the entry lists, whether or not a project bears it', async () => {
    expect((await verify(CI_SECRET, { project: 'my-app' })).code).toBe('VALID');
    expect((await verify(CI_SECRET, { project: 'other-app' })).code).toBe('FORBIDDEN');
    const gate = await api.get('/v1/auth/check?project=my-app', { token: CI_SECRET });
    expect(gate.status, gate.text).toBe(200);
    const created = await createProject(api, 'my-app');
    expect((await verify(CI_SECRET, { project: 'my-app' })).code).toBe('VALID');
    expect((await verify(CI_SECRET, { project: created.id })).code).toBe('VALID');
  });
});
