import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AuditService } from '../../src/audit/audit.service.js';
import { CleanupService } from '../../src/cleanup/cleanup.service.js';
import { DatabaseService } from '../../src/database/database.service.js';
import { TokensFileService } from '../../src/verification/tokens-file/tokens-file.service.js';
import { TokenCodec } from '../../src/verification/token-codec.js';
import { ADMIN_TOKEN, envelopeOf, type Res, startApp, useApp } from '../support/app.js';
import { createTestDatabase } from '../support/db.js';
import { createProject, createProjectToken, unique } from '../support/projects.js';

interface AuditEvent {
  id: string;
  time: string;
  action: string;
  actor: string;
  targetType: string | null;
  targetId: string | null;
  projectId: string | null;
  clientAddress: string | null;
  userAgent: string | null;
  traceId: string | null;
  outcome: string;
  count: number;
  lastSeenAt: string | null;
  details: Record<string, unknown> | null;
}

const dir = mkdtempSync(join(tmpdir(), 'keyward-audit-'));
const file = join(dir, 'tokens.json');
const FILE_TOKEN = 'audit-file-token-0123456789';
const writeFile = (doc: unknown) =>
  writeFileSync(file, typeof doc === 'string' ? doc : JSON.stringify(doc), { mode: 0o600 });

const t = useApp(() => {
  writeFile({ tokens: { ops: { token: FILE_TOKEN } } });
  return { KEYWARD_TOKENS_FILE: file };
});
const api = t.api;
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
});

/** Every event matching `query`, newest first (follows the cursor). */
async function events(query: Record<string, string> = {}, token = ADMIN_TOKEN): Promise<AuditEvent[]> {
  const all: AuditEvent[] = [];
  let cursor: string | null = null;
  do {
    const q: URLSearchParams = new URLSearchParams({ ...query, limit: '1000', ...(cursor ? { cursor } : {}) });
    const res: Res = await api.get(`/v1/audit?${q}`, { token });
    expect(res.status, res.text).toBe(200);
    all.push(...res.body);
    cursor = res.headers.get('x-next-cursor');
  } while (cursor);
  return all;
}

const only = async (action: string, targetId: string) => {
  const found = (await events({ action, token_id: targetId })).filter((e) => e.targetId === targetId);
  expect(found, `${action} on ${targetId}`).toHaveLength(1);
  return found[0];
};

const ORIGIN = { 'user-agent': 'audit-test/1.0', 'x-request-id': 'audit-trace-0001' };

describe('one event per action, with the right actor and origin', () => {
  it('Publisher create, revoke and rotate: actor, target, client address, user agent, trace id', async () => {
    const created = await api.post(
      '/api-token/create',
      { access: 'write', description: 'audited' },
      { headers: ORIGIN },
    );
    expect(created.status).toBe(200);
    const e = await only('token.create', created.body.id);
    expect(e).toMatchObject({
      actor: 'admin',
      targetType: 'token',
      outcome: 'success',
      clientAddress: '127.0.0.1',
      userAgent: 'audit-test/1.0',
      traceId: 'audit-trace-0001',
      count: 1,
    });
    expect(Date.now() - Date.parse(e.time)).toBeLessThan(60_000);

    // The new token acts: it is the actor of what it does.
    const child = await api.post('/api-token/create', { access: 'read' }, { token: created.body.token });
    expect((await only('token.create', child.body.id)).actor).toBe(created.body.id);

    const rotated = await api.post(`/v1/tokens/${child.body.id}/rotate`, { grace: '1m' });
    expect(rotated.status, rotated.text).toBe(200);
    expect(await only('token.rotate', child.body.id)).toMatchObject({ actor: 'admin', details: { grace_ms: 60_000 } });

    expect((await api.post('/api-token/revoke', { id: child.body.id }, { token: created.body.token })).status).toBe(
      200,
    );
    expect((await only('token.revoke', child.body.id)).actor).toBe(created.body.id);
  });

  it('a revocation records its cascade: the count on the token named, and one event per descendant', async () => {
    const a = await api.post('/api-token/create', { access: 'write' });
    const b = await api.post('/api-token/create', { access: 'write' }, { token: a.body.token });
    const c = await api.post('/api-token/create', { access: 'read' }, { token: b.body.token });
    expect(c.status, c.text).toBe(200);
    const revoked = await api.post('/api-token/revoke', { id: a.body.id }, { headers: ORIGIN });
    expect(revoked.status, revoked.text).toBe(200);
    expect(await only('token.revoke', a.body.id)).toMatchObject({
      actor: 'admin',
      details: { cascade: 2 },
      traceId: 'audit-trace-0001',
    });
    for (const d of [b.body.id, c.body.id]) {
      expect(await only('token.revoke', d)).toMatchObject({
        actor: 'admin',
        details: { via: a.body.id },
        clientAddress: '127.0.0.1',
        traceId: 'audit-trace-0001',
      });
    }
    // Deleting a project token cascades the same way.
    const project = await createProject(api);
    const parent = await createProjectToken(api, project.id, ['create:token', 'read:token']);
    const kid = await createProjectToken(api, project.id, ['read:token'], { token: parent.token });
    expect((await api.delete(`/v1/project_tokens/${parent.id}`)).status).toBe(204);
    expect(await only('token.delete', parent.id)).toMatchObject({ details: { cascade: 1 }, projectId: project.id });
    expect(await only('token.delete', kid.id)).toMatchObject({ details: { via: parent.id }, projectId: project.id });
  });

  it('TTL tokens, projects and project tokens: create, update, delete', async () => {
    const ttl = await api.post('/auth/tokens', { ttl: '1h', remove_on_use: true });
    expect(ttl.status, ttl.text).toBe(201);
    expect(await only('token.create', ttl.body.id)).toMatchObject({ actor: 'admin', details: { remove_on_use: true } });

    const project = await createProject(api);
    expect(await only('project.create', project.id)).toMatchObject({
      actor: 'admin',
      targetType: 'project',
      projectId: project.id,
      details: { name: project.name },
    });

    const pt = await createProjectToken(api, project.id, ['read:*', 'update:token', 'delete:token']);
    expect(await only('token.create', pt.id)).toMatchObject({ actor: 'admin', projectId: project.id });
    expect((await api.patch(`/v1/project_tokens/${pt.id}`, { name: unique('renamed') })).status).toBe(204);
    expect((await only('token.update', pt.id)).actor).toBe('admin');
    const victim = await createProjectToken(api, project.id, ['read:token']);
    expect((await api.delete(`/v1/project_tokens/${victim.id}`, { token: pt.token })).status).toBe(204);
    expect(await only('token.delete', victim.id)).toMatchObject({ actor: pt.id, projectId: project.id });
  });

  it('disable/enable (Publisher and project tokens), project rename and delete', async () => {
    const g = await api.post('/api-token/create', { access: 'read' });
    expect((await api.post('/api-token/disable', { id: g.body.id })).status).toBe(200);
    expect((await api.post('/api-token/enable', { id: g.body.id })).status).toBe(200);
    expect((await only('token.disable', g.body.id)).actor).toBe('admin');
    expect((await only('token.enable', g.body.id)).actor).toBe('admin');

    const project = await createProject(api);
    const pt = await createProjectToken(api, project.id, ['read:token']);
    expect(
      (await api.patch(`/v1/project_tokens/${pt.id}`, { name: null, permissions: null, enabled: false })).status,
    ).toBe(204);
    expect(await only('token.disable', pt.id)).toMatchObject({ actor: 'admin', projectId: project.id });
    expect(await events({ action: 'token.update', token_id: pt.id })).toEqual([]); // only the switch changed

    const renamed = unique('renamed-project');
    expect((await api.patch(`/v1/projects/${project.id}`, { name: renamed })).status).toBe(204);
    expect(await only('project.rename', project.id)).toMatchObject({
      actor: 'admin',
      details: { from: project.name, to: renamed },
    });
    const deleted = await api.delete(`/v1/projects/${project.id}`);
    expect(deleted.status, deleted.text).toBeLessThan(300);
    expect(await only('project.delete', project.id)).toMatchObject({ actor: 'admin', details: { name: renamed } });
  });

  it('a project deletion and its audit rows commit together: no deletion without its audit trail', async () => {
    const project = await createProject(api);
    const pt = await createProjectToken(api, project.id, ['read:token']);
    const sql = t.app.get(DatabaseService).sql;
    // The audit write fails (a trigger refuses project.delete rows): the deletion must not happen either.
    await sql.exec(`CREATE FUNCTION refuse_project_delete_audit() RETURNS trigger AS $$
      BEGIN IF NEW.action = 'project.delete' THEN RAISE EXCEPTION 'audit refused'; END IF; RETURN NEW; END;
      $$ LANGUAGE plpgsql`);
    await sql.exec(`CREATE TRIGGER refuse_project_delete_audit BEFORE INSERT ON audit_events
      FOR EACH ROW EXECUTE FUNCTION refuse_project_delete_audit()`);
    try {
      // An injected fault: its 500 is not part of the documented contract.
      const refused = await api.delete(`/v1/projects/${project.id}`, { validate: false });
      expect(refused.status, refused.text).toBe(500);
    } finally {
      await sql.exec('DROP TRIGGER refuse_project_delete_audit ON audit_events');
      await sql.exec('DROP FUNCTION refuse_project_delete_audit()');
    }
    expect((await api.get(`/v1/projects/${project.id}`)).status).toBe(200);
    expect((await api.post('/v1/tokens/verify', { token: pt.token })).body).toMatchObject({ valid: true });
    expect(await events({ action: 'token.revoke', token_id: pt.id })).toEqual([]);

    const deleted = await api.delete(`/v1/projects/${project.id}`);
    expect(deleted.status, deleted.text).toBeLessThan(300);
    const [deletion] = await events({ action: 'project.delete', token_id: project.id });
    const [revocation] = await events({ action: 'token.revoke', token_id: pt.id });
    // One transaction: the rows carry its one timestamp.
    expect(revocation.time).toBe(deletion.time);
    expect(revocation.details).toMatchObject({ via: `project:${project.id}` });
  });

  it('tokens-file reloads, good and bad, and actions of file tokens (actor file:<name>)', async () => {
    const reload = t.app.get(TokensFileService);
    writeFile({ tokens: { ops: { token: FILE_TOKEN }, other: { token: 'audit-file-token-other-0001' } } });
    await reload.reload();
    writeFile('{"tokens": ');
    await expect(reload.reload()).rejects.toThrow(/not valid JSON/);
    const reloads = await events({ action: 'tokens_file.reload' });
    expect(reloads.length).toBeGreaterThanOrEqual(3); // at start, the good reload, the bad one
    expect(reloads[0]).toMatchObject({
      actor: 'system',
      targetType: 'tokens_file',
      targetId: file,
      outcome: 'failure',
      details: { trigger: 'call' },
    });
    expect(reloads[1]).toMatchObject({ outcome: 'success', details: { trigger: 'call', entries: 2, disabled: 0 } });
    expect(reloads[reloads.length - 1].details).toMatchObject({ trigger: 'start', entries: 1 });

    const made = await api.post('/api-token/create', { access: 'read' }, { token: FILE_TOKEN });
    expect(made.status).toBe(200);
    expect((await only('token.create', made.body.id)).actor).toBe('file:ops');
  });

  it('failed authentications: one row per credential, address, verdict and minute, with a count', async () => {
    const created = await api.post('/api-token/create', { access: 'read' });
    await api.post('/api-token/revoke', { id: created.body.id });
    const lookupId = (created.body.token as string).slice(3, 19);
    // Well-formed, on a real lookup id, with another secret.
    const forged = new TokenCodec('kw_').generate(lookupId).token;
    for (let i = 0; i < 3; i++) {
      expect((await api.post('/api-token/list', {}, { token: created.body.token })).status).toBe(401);
      expect((await api.post('/api-token/list', {}, { token: 'not-a-token-at-all' })).status).toBe(401);
    }
    expect((await api.post('/api-token/list', {}, { token: forged })).status).toBe(401);
    await t.app.get(AuditService).flush();
    const revoked = (await events({ action: 'auth.failed', token_id: created.body.id })).filter(
      (e) => e.targetId === created.body.id,
    );
    expect(revoked).toHaveLength(1);
    expect(revoked[0]).toMatchObject({ actor: 'anonymous', outcome: 'REVOKED', count: 3, clientAddress: '127.0.0.1' });
    const failed = await events({ action: 'auth.failed' });
    expect(failed.find((e) => e.targetId === null && e.outcome === 'NOT_FOUND')?.count).toBeGreaterThanOrEqual(3);
    // A forged secret on a real lookup id: the lookup id (not secret) is kept, never the token.
    const forgedRow = failed.find((e) => e.targetType === 'lookup' && e.targetId === lookupId);
    expect(forgedRow?.count).toBe(1);
    expect(JSON.stringify(failed)).not.toContain(forged.slice(19));

    // More attempts in the same minute add to the same row.
    await api.post('/api-token/list', {}, { token: created.body.token });
    await t.app.get(AuditService).flush();
    const again = (await events({ action: 'auth.failed', token_id: created.body.id })).filter(
      (e) => e.targetId === created.body.id,
    );
    expect(again.length === 1 ? again[0].count : again.reduce((n, e) => n + e.count, 0)).toBe(4);
  });
});

describe('GET /v1/audit', () => {
  it('filters by token_id, action and since, and pages with a cursor', async () => {
    const before = new Date(Date.now() - 1).toISOString();
    const a = await api.post('/api-token/create', { access: 'read' });
    const b = await api.post('/api-token/create', { access: 'read' });
    await api.post('/api-token/revoke', { id: a.body.id });
    const recent = await events({ since: before });
    expect(recent.map((e) => `${e.action} ${e.targetId}`)).toEqual([
      `token.revoke ${a.body.id}`,
      `token.create ${b.body.id}`,
      `token.create ${a.body.id}`,
    ]);
    expect((await events({ token_id: a.body.id })).map((e) => e.action)).toEqual(['token.revoke', 'token.create']);
    expect((await events({ since: before, action: 'token.create' })).map((e) => e.targetId)).toEqual([
      b.body.id,
      a.body.id,
    ]);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: Res = await api.get(`/v1/audit?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      expect(res.body.length).toBeLessThanOrEqual(2);
      seen.push(...res.body.map((e: AuditEvent) => e.id));
      cursor = res.headers.get('x-next-cursor');
    } while (cursor);
    const all = await events();
    expect(seen).toEqual(all.map((e) => e.id));
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('answers 400 for bad filters', async () => {
    for (const q of ['action=token.explode', 'since=yesterday', 'cursor=garbage', 'limit=0', 'limit=1.5', 'foo=1']) {
      const res = await api.get(`/v1/audit?${q}`);
      expect(res.status, q).toBe(400);
      expect(envelopeOf(res).code).toBe('bad_request');
    }
  });

  it('needs read:audit (read:* covers it); a project-scoped caller sees only its projects', async () => {
    expect((await api.get('/v1/audit', { token: null })).status).toBe(401);
    const reader = await api.post('/api-token/create', { access: 'read' });
    expect((await api.get('/v1/audit', { token: reader.body.token })).status).toBe(200);

    const project = await createProject(api);
    const other = await createProject(api);
    const noAudit = await createProjectToken(api, project.id, ['read:token', 'create:token']);
    expect((await api.get('/v1/audit', { token: noAudit.token })).status).toBe(403);
    const auditor = await createProjectToken(api, project.id, ['read:audit']);
    await createProjectToken(api, other.id, ['read:token']);
    const visible = await events({}, auditor.token);
    expect(visible.length).toBeGreaterThan(0);
    expect(visible.every((e) => e.projectId === project.id)).toBe(true);
    expect(visible.map((e) => e.targetId)).toContain(noAudit.id);
    expect(visible.map((e) => e.targetId)).toContain(project.id);
  });
});

describe('retention', () => {
  it(
    'the cleanup job removes audit events older than KEYWARD_AUDIT_RETENTION, and none when it is off',
    { timeout: 180_000 },
    async () => {
      const db = await createTestDatabase();
      try {
        for (const [retention, survivors] of [
          ['off', ['old', 'recent']],
          ['1h', ['recent']],
        ] as const) {
          const app = await startApp({ KEYWARD_AUDIT_RETENTION: retention, KEYWARD_CLEANUP_INTERVAL: 'off' }, db);
          try {
            const prisma = app.app.get(DatabaseService).prisma;
            await prisma.auditEvent.deleteMany({});
            const base = { action: 'token.create', actor: 'admin', outcome: 'success' };
            await prisma.auditEvent.createMany({
              data: [
                { ...base, id: crypto.randomUUID(), targetId: 'old', createdAt: new Date(Date.now() - 2 * 3_600_000) },
                { ...base, id: crypto.randomUUID(), targetId: 'recent', createdAt: new Date(Date.now() - 60_000) },
              ],
            });
            const pass = await app.app.get(CleanupService).runOnce();
            expect(pass).toMatchObject({ skipped: false, auditRemoved: survivors.length === 2 ? 0 : 1 });
            const left = await prisma.auditEvent.findMany({ where: { targetId: { in: ['old', 'recent'] } } });
            expect(left.map((r) => r.targetId).sort(), retention).toEqual([...survivors].sort());
          } finally {
            await app.close();
          }
        }
      } finally {
        await db.drop();
      }
    },
  );
});
