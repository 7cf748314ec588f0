import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenCodec } from '../../src/verification/token-codec.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { freePort, MAIN, type Proc, spawnService, waitForHttp } from '../support/process.js';

/**
 * The access log as an operator sees it: the stdout of a real `node dist/main.js`, one JSON line per
 * request. Every request this test makes carries its own X-Request-Id, which becomes the trace id of
 * its line.
 */
const ADMIN = 'access-log-admin-token-' + 'q'.repeat(24);
const dir = mkdtempSync(join(tmpdir(), 'keyward-access-log-'));
let db: TestDatabase;
let proc: Proc;
let base: string;

beforeAll(async () => {
  if (!existsSync(MAIN)) throw new Error('dist/main.js is missing: run `npm run build` first');
  db = await createTestDatabase();
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  proc = spawnService({
    PORT: String(port),
    HOST: '127.0.0.1',
    KEYWARD_ADMIN_TOKEN: ADMIN,
    LOG_LEVEL: 'info',
    ...(db.url ? { DATABASE_URL: db.url } : { KEYWARD_DATA_DIR: join(dir, 'data') }),
  });
  await waitForHttp(`${base}/health/live`, proc, 150_000); // a fresh PGlite directory is slow on a busy machine
}, 180_000);
afterAll(async () => {
  await proc?.stop();
  await db?.drop();
  rmSync(dir, { recursive: true, force: true });
});

interface Expected {
  method: string;
  route: string | null;
  status: number;
  token_id?: string;
  auth?: 'failed';
  lookup_id?: string;
  credential?: 'none' | 'other';
  /** Further fields the line must have (e.g. forward auth's original method and URI). */
  fields?: Record<string, unknown>;
}

const sent = new Map<string, Expected>();
let n = 0;

async function request(
  method: string,
  path: string,
  opts: { token?: string | null; body?: string; headers?: Record<string, string>; expect: Omit<Expected, 'method'> },
): Promise<any> {
  const traceId = `accesslog-${process.pid}-${++n}`;
  const headers: Record<string, string> = { 'x-request-id': traceId, ...opts.headers };
  const token = opts.token === undefined ? ADMIN : opts.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(base + path, { method, headers, body: opts.body });
  expect(res.status, `${method} ${path}`).toBe(opts.expect.status);
  expect(res.headers.get('x-trace-id')).toBe(traceId);
  sent.set(traceId, { method, ...opts.expect });
  const text = await res.text();
  return text && res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text;
}

describe('the access log of a real service process', () => {
  it(
    'has exactly one line per request, with route pattern, status, duration, caller, client and trace id, and no secret',
    { timeout: 120_000 },
    async () => {
      const created = await request('POST', '/api-token/create', {
        body: JSON.stringify({ access: 'write', description: 'access log' }),
        expect: { route: '/api-token/create', status: 200, token_id: 'admin' },
      });
      const secret: string = created.token;
      await request('POST', '/publisher.v1/api-token/list', {
        token: secret,
        body: '{}',
        expect: { route: '/publisher.v1/api-token/list', status: 200, token_id: created.id },
      });
      const project = await request('POST', '/v1/projects', {
        body: JSON.stringify({ name: `access-log-${Date.now()}` }),
        expect: { route: '/v1/projects', status: 201, token_id: 'admin' },
      });
      await request('GET', `/v1/projects/${project.id}`, {
        token: secret,
        expect: { route: '/v1/projects/:projectID', status: 200, token_id: created.id },
      });
      await request('POST', '/v1/tokens/verify', {
        body: JSON.stringify({ token: secret }),
        expect: { route: '/v1/tokens/verify', status: 200, token_id: 'admin' },
      });

      // Forward auth: the checked token is the caller; the gateway's original request is logged.
      await request('GET', '/v1/auth/check?permission=read:token', {
        token: secret,
        headers: { 'x-original-method': 'DELETE', 'x-original-uri': '/orders/7?force=1' },
        expect: {
          route: '/v1/auth/check',
          status: 200,
          token_id: created.id,
          fields: { forwarded_method: 'DELETE', forwarded_uri: '/orders/7?force=1' },
        },
      });

      // Failed authentications: the lookup id of a Keyward token (stored in clear), never the token.
      const revoked = await request('POST', '/api-token/create', {
        body: JSON.stringify({ access: 'read' }),
        expect: { route: '/api-token/create', status: 200, token_id: 'admin' },
      });
      await request('POST', '/api-token/revoke', {
        body: JSON.stringify({ id: revoked.id }),
        expect: { route: '/api-token/revoke', status: 200, token_id: 'admin' },
      });
      const lookupOf = (token: string) => token.slice('kw_'.length, 'kw_'.length + 16);
      await request('POST', '/api-token/list', {
        token: revoked.token,
        body: '{}',
        expect: { route: '/api-token/list', status: 401, auth: 'failed', lookup_id: lookupOf(revoked.token) },
      });
      const unknown = new TokenCodec('kw_').generate().token;
      await request('GET', '/v1/projects', {
        token: unknown,
        expect: { route: '/v1/projects', status: 401, auth: 'failed', lookup_id: lookupOf(unknown) },
      });
      await request('GET', '/v1/projects', {
        token: 'not-a-keyward-token-but-long-enough',
        expect: { route: '/v1/projects', status: 401, auth: 'failed', credential: 'other' },
      });
      await request('GET', '/v1/projects', {
        token: null,
        expect: { route: '/v1/projects', status: 401, auth: 'failed', credential: 'none' },
      });

      // Errors before any route handler, and routes that need no token.
      await request('POST', '/api-token/create', {
        body: '{"access":',
        expect: { route: '/api-token/create', status: 400, token_id: undefined },
      });
      await request('GET', '/no/such/route', { expect: { route: null, status: 404 } });
      await request('GET', '/health/ready', { token: null, expect: { route: '/health/ready', status: 200 } });
      await request('GET', '/metrics', {
        token: null,
        expect: { route: '/metrics', status: 401, auth: 'failed', credential: 'none' },
      });
      await request('GET', '/metrics', { expect: { route: '/metrics', status: 200, token_id: 'admin' } });

      await proc.stop(); // flushes stdout
      const lines = proc
        .stdout()
        .split('\n')
        .filter((l) => l.trim());
      const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>); // every line is JSON
      for (const [traceId, want] of sent) {
        const mine = records.filter((r) => r.trace_id === traceId && r.context === 'access');
        expect(mine, `${want.method} ${want.route} (${traceId})`).toHaveLength(1);
        const line = mine[0];
        expect(line).toMatchObject({
          level: 30, // info, failed authentications included
          method: want.method,
          route: want.route,
          status: want.status,
          client: '127.0.0.1',
          service: 'keyward',
        });
        expect(typeof line.duration_ms).toBe('number');
        expect(line.token_id).toBe(want.token_id);
        expect(line.auth).toBe(want.auth);
        expect(line.lookup_id).toBe(want.lookup_id);
        expect(line.credential).toBe(want.credential);
        if (want.fields) expect(line).toMatchObject(want.fields);
      }

      const everything = proc.output();
      for (const needle of [ADMIN, secret, revoked.token, unknown, secret.slice(19, 62), 'not-a-keyward-token']) {
        expect(everything).not.toContain(needle);
      }
    },
  );
});
