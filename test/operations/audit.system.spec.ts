import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.schema.js';
import { openDatabase } from '../../src/database/database.module.js';
import { client } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { freePort, spawnService, waitForHttp } from '../support/process.js';
import { createProject, createProjectToken, unique } from '../support/projects.js';

describe('no secret in the audit table or the log', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => db?.drop());

  it(
    'after every audited action, neither the audit table nor the process log (trace level) holds any secret',
    { timeout: 180_000 },
    async () => {
      const admin = 'audit-secret-admin-token-' + 'q'.repeat(20);
      const port = await freePort();
      const base = `http://127.0.0.1:${port}`;
      const p = spawnService({ ...db.env, PORT: String(port), LOG_LEVEL: 'trace', KEYWARD_ADMIN_TOKEN: admin });
      const secrets: string[] = [admin];
      try {
        await waitForHttp(`${base}/api/v1/public/ping`, p, 90_000);
        const http = client(base);
        const as = { token: admin };
        const created = await http.post('/api-token/create', { access: 'write' }, as);
        secrets.push(created.body.token);
        const child = await http.post('/api-token/create', { access: 'read' }, { token: created.body.token });
        secrets.push(child.body.token);
        const rotated = await http.post(`/v1/tokens/${child.body.id}/rotate`, { grace: '1m' }, as);
        secrets.push(rotated.body.token);
        const ttl = await http.post('/auth/tokens', { ttl: '1h' }, as);
        secrets.push(ttl.body.token);
        const project = await createProject(http, unique('p'), admin);
        const pt = await createProjectToken(http, project.id, ['read:*', 'update:token'], { token: admin });
        secrets.push(pt.token);
        await http.patch(`/v1/project_tokens/${pt.id}`, { name: unique('renamed') }, as);
        await http.post('/api-token/revoke', { id: child.body.id }, as);
        await http.delete(`/v1/project_tokens/${pt.id}`, as);
        // Failed authentications with every secret (now revoked, or mangled).
        for (const s of secrets) {
          await http.post('/api-token/list', {}, { token: s + 'x' });
          await http.post('/api-token/list', {}, { token: s.slice(0, -1) + (s.endsWith('A') ? 'B' : 'A') });
        }
        await http.post('/api-token/list', {}, { token: child.body.token });
        await http.post('/api-token/list', {}, { token: pt.token });
        const audit = await http.get('/v1/audit?limit=1000', as);
        expect(audit.status).toBe(200);
        expect(audit.body.length).toBeGreaterThanOrEqual(8);
      } finally {
        await p.stop();
      }
      // The whole table, read after the service stopped (it flushes pending counts on shutdown).
      const dbService = await openDatabase(loadConfig({ ...db.env, LOG_LEVEL: 'silent' }));
      let table: string;
      try {
        const rows = await dbService.sql.query('SELECT * FROM audit_events');
        expect(rows.some((r) => (r as { action: string }).action === 'auth.failed')).toBe(true);
        expect(rows.some((r) => (r as { action: string }).action === 'token.rotate')).toBe(true);
        table = JSON.stringify(rows);
      } finally {
        await dbService.handle.close();
      }
      const log = p.output();
      expect(log.length).toBeGreaterThan(0);
      for (const secret of secrets) {
        const parts = secret.startsWith('kw_') ? [secret, secret.slice(19, 19 + 40)] : [secret];
        for (const part of parts) {
          expect(table.includes(part), `audit table holds ${part.slice(0, 8)}…`).toBe(false);
          expect(log.includes(part), `log holds ${part.slice(0, 8)}…`).toBe(false);
        }
      }
      expect(table).not.toContain('$argon2');
    },
  );
});
