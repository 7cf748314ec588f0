/**
 * The security table: every operation of openapi/openapi.json × every kind of caller, with the expected
 * status class. An operation of the document without a row fails the test, so a new route cannot be
 * forgotten; a row without an operation fails too. Refused calls on a token must leave it unchanged.
 *
 * Targets: a project token of P for the project-token routes, a global token scoped to P for revoke and
 * rotate, both expiring in 1 h (before every caller that expires); see `targetFor` for their permissions.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, calyptiaErrorOf, envelopeOf, type Res, useApp } from '../support/app.js';
import { type Perm, storedRights, WRITE_RIGHTS, writeTokensFile } from '../support/authz.js';
import { createProject, createProjectToken, type ProjectBody, unique } from '../support/projects.js';

const KINDS = [
  'none',
  'garbage',
  'unknown well-formed',
  'read',
  'write',
  'narrow (another permission)',
  'exact (only the permission)',
  'exact, on a stronger target',
  'project token of another project',
  'scoped to the project',
  'expired',
  'revoked',
  'single-use already used',
  'tokens file, confined to the project',
] as const;
type Kind = (typeof KINDS)[number];
type Want = '2xx' | 401 | 403 | 404;

type Target = 'project token' | 'global token' | null;

interface Operation {
  /** The one permission the route requires (null: a public route). */
  permission: Perm | null;
  target: Target;
  /** Path with `{P}` (the project) and `{T}` (the target token) filled in. */
  path: string;
  body?: () => unknown;
  rows: Record<Kind, Want>;
  /** A public route that checks the token it is presented itself (forward auth): no guard, but a token. */
  checksOwnToken?: boolean;
}

const ANON = { none: 401, garbage: 401, 'unknown well-formed': 401, expired: 401, revoked: 401 } as const;
const DEAD = { ...ANON, 'single-use already used': 401 } as const;

/** Rows shared by most operations: what the rules give for each kind, given the route's permission. */
function rows(
  overrides: Partial<Record<Kind, Want>> & Pick<Record<Kind, Want>, 'read' | 'exact (only the permission)'>,
) {
  return {
    ...DEAD,
    write: '2xx',
    'narrow (another permission)': 403,
    'project token of another project': 404,
    'scoped to the project': '2xx',
    'tokens file, confined to the project': '2xx',
    'exact, on a stronger target': overrides['exact (only the permission)'],
    ...overrides,
  } as Record<Kind, Want>;
}

/** A route that changes or revokes its target: only a target holding nothing beyond the caller. */
const onTarget = (read: Want) =>
  rows({ read, 'exact (only the permission)': '2xx', 'exact, on a stronger target': 403 });

const publisher = (base: string): Record<string, Operation> => ({
  [`POST ${base}/create`]: {
    permission: 'create:token',
    target: null,
    path: `${base}/create`,
    body: () => ({ access: 'read' }),
    // An exact [create:token] caller cannot grant read:*; another project's token creates inside its own.
    rows: rows({ read: 403, 'exact (only the permission)': 403, 'project token of another project': '2xx' }),
  },
  [`POST ${base}/list`]: {
    permission: 'read:token',
    target: null,
    path: `${base}/list`,
    body: () => ({}),
    rows: rows({ read: '2xx', 'exact (only the permission)': '2xx', 'project token of another project': '2xx' }),
  },
  [`POST ${base}/revoke`]: {
    permission: 'delete:token',
    target: 'global token',
    path: `${base}/revoke`,
    body: () => ({ id: '{T}' }),
    rows: onTarget(403),
  },
  ...Object.fromEntries(
    ['disable', 'enable'].map((action) => [
      `POST ${base}/${action}`,
      {
        permission: 'update:token',
        target: 'global token',
        path: `${base}/${action}`,
        body: () => ({ id: '{T}' }),
        rows: onTarget(403),
      } satisfies Operation,
    ]),
  ),
  [`POST ${base}/rotate`]: {
    permission: 'update:token',
    target: 'global token',
    path: `${base}/rotate`,
    body: () => ({ id: '{T}' }),
    rows: onTarget(403),
  },
});

const projectTokenRoutes = (prefix: string, label: string): Record<string, Operation> => ({
  [`GET ${label}`]: {
    permission: 'read:token',
    target: 'project token',
    path: prefix,
    rows: rows({ read: '2xx', 'exact (only the permission)': '2xx' }),
  },
  [`PATCH ${label}`]: {
    permission: 'update:token',
    target: 'project token',
    path: prefix,
    body: () => ({ name: unique('patched') }),
    rows: onTarget(403),
  },
  [`DELETE ${label}`]: {
    permission: 'delete:token',
    target: 'project token',
    path: prefix,
    rows: onTarget(403),
  },
});

const TABLE: Record<string, Operation> = {
  // Public: liveness and readiness answer whatever token comes with the request.
  ...Object.fromEntries(
    ['/api/v1/public/ping', '/health/live', '/health/ready'].map((path) => [
      `GET ${path}`,
      { permission: null, target: null, path, rows: Object.fromEntries(KINDS.map((k) => [k, '2xx'])) },
    ]),
  ),
  // Process-wide numbers that name no project: any holder of read:metrics (read:* covers it).
  'GET /metrics': {
    permission: 'read:metrics',
    target: null,
    path: '/metrics',
    rows: rows({ read: '2xx', 'exact (only the permission)': '2xx', 'project token of another project': '2xx' }),
  },
  'DELETE /v1/tokens-file/entries/{name}/tokens': {
    permission: 'delete:token',
    target: null,
    path: '/v1/tokens-file/entries/no-such-entry/tokens',
    // The admin token only (test/security/rights-over-time.e2e.spec.ts): every token kind is refused.
    rows: rows({
      read: 403,
      write: 403,
      'exact (only the permission)': 403,
      'scoped to the project': 403,
      'project token of another project': 403,
      'tokens file, confined to the project': 403,
    }),
  },
  'GET /v1/audit': {
    permission: 'read:audit',
    target: null,
    path: '/v1/audit',
    // A caller confined to projects reads the events of its projects only (a filtered 200).
    rows: rows({ read: '2xx', 'exact (only the permission)': '2xx', 'project token of another project': '2xx' }),
  },
  'GET /v1/auth/check': {
    permission: null,
    checksOwnToken: true,
    target: null,
    path: '/v1/auth/check',
    // No permission or project asked: every live token is a 200, every dead or absent one a 401.
    rows: Object.fromEntries(KINDS.map((k) => [k, k in DEAD ? DEAD[k as keyof typeof DEAD] : '2xx'])) as Record<
      Kind,
      Want
    >,
  },
  'GET /v1/health': {
    permission: 'read:token',
    target: null,
    path: '/v1/health',
    rows: rows({ read: '2xx', 'exact (only the permission)': '2xx', 'project token of another project': '2xx' }),
  },
  ...publisher('/publisher.v1/api-token'),
  ...publisher('/api-token'),
  'POST /auth/tokens': {
    permission: 'create:token',
    target: null,
    path: '/auth/tokens',
    body: () => ({ ttl: '1h' }),
    rows: rows({ read: 403, 'exact (only the permission)': '2xx', 'project token of another project': '2xx' }),
  },
  'POST /v1/tokens/verify': {
    permission: 'read:token',
    target: null,
    path: '/v1/tokens/verify',
    body: () => ({ token: 'kw_nothing' }),
    rows: rows({ read: '2xx', 'exact (only the permission)': '2xx', 'project token of another project': '2xx' }),
  },
  // An owner nobody uses: every holder of the permission gets 200 with nothing done.
  ...Object.fromEntries(
    (
      [
        ['revoke-by-owner', 'delete:token'],
        ['disable-by-owner', 'update:token'],
      ] as const
    ).map(([action, permission]) => [
      `POST /v1/tokens/${action}`,
      {
        permission,
        target: null,
        path: `/v1/tokens/${action}`,
        body: () => ({ owner: 'owner-nobody-uses' }),
        rows: rows({ read: 403, 'exact (only the permission)': '2xx', 'project token of another project': '2xx' }),
      } satisfies Operation,
    ]),
  ),
  'POST /v1/tokens/{tokenID}/rotate': {
    permission: 'update:token',
    target: 'global token',
    path: '/v1/tokens/{T}/rotate',
    body: () => ({}),
    rows: onTarget(403),
  },
  'POST /v1/projects': {
    permission: 'create:project',
    target: null,
    path: '/v1/projects',
    body: () => ({ name: unique('table') }),
    // Only unscoped callers create projects.
    rows: rows({
      read: 403,
      'exact (only the permission)': '2xx',
      'project token of another project': 403,
      'scoped to the project': 403,
      'tokens file, confined to the project': 403,
    }),
  },
  'GET /v1/projects': {
    permission: 'read:project',
    target: null,
    path: '/v1/projects',
    rows: rows({ read: '2xx', 'exact (only the permission)': '2xx', 'project token of another project': '2xx' }),
  },
  'GET /v1/projects/{projectID}': {
    permission: 'read:project',
    target: null,
    path: '/v1/projects/{P}',
    rows: rows({ read: '2xx', 'exact (only the permission)': '2xx' }),
  },
  'PATCH /v1/projects/{projectID}': {
    permission: 'update:project',
    target: null,
    path: '/v1/projects/{P}',
    // Calyptia's null: nothing changes, so P stays as the other rows expect it.
    body: () => ({ name: null }),
    rows: rows({ read: 403, 'exact (only the permission)': '2xx' }),
  },
  'DELETE /v1/projects/{projectID}': {
    permission: 'delete:project',
    target: null,
    // A project of its own for every cell ({D}): outside the callers confined to P.
    path: '/v1/projects/{D}',
    rows: rows({
      read: 403,
      'exact (only the permission)': '2xx',
      'scoped to the project': 404,
      'tokens file, confined to the project': 404,
    }),
  },
  'POST /v1/projects/{projectID}/tokens': {
    permission: 'create:token',
    target: null,
    path: '/v1/projects/{P}/tokens',
    body: () => ({ name: unique('table'), permissions: ['create:token'] }),
    rows: rows({ read: 403, 'exact (only the permission)': '2xx' }),
  },
  'GET /v1/projects/{projectID}/tokens': {
    permission: 'read:token',
    target: null,
    path: '/v1/projects/{P}/tokens',
    rows: rows({ read: '2xx', 'exact (only the permission)': '2xx' }),
  },
  ...projectTokenRoutes('/v1/project_tokens/{T}', '/v1/project_tokens/{tokenID}'),
  ...projectTokenRoutes('/v1/projects/{P}/tokens/{T}', '/v1/projects/{projectID}/tokens/{tokenID}'),
  // Leak reports need no credential (whatever comes with one, the answer is 202).
  'POST /v1/tokens/revoke-leaked': {
    permission: null,
    target: null,
    path: '/v1/tokens/revoke-leaked',
    body: () => ({ tokens: ['kw_nothing'] }),
    rows: Object.fromEntries(KINDS.map((k) => [k, '2xx'])) as Record<Kind, Want>,
  },
  'POST /oauth2/introspect': {
    permission: 'read:token',
    target: null,
    path: '/oauth2/introspect',
    body: () => ({ token: 'kw_nothing' }),
    rows: rows({ read: '2xx', 'exact (only the permission)': '2xx', 'project token of another project': '2xx' }),
  },
  // Webhooks: {W} is a fresh endpoint registered by a caller confined to P (so it hears about P only).
  'POST /v1/webhooks': {
    permission: 'manage:webhook',
    target: null,
    path: '/v1/webhooks',
    body: () => ({ url: 'http://127.0.0.1:9/table', events: ['token.expired'] }),
    // Another project's token registers an endpoint for its own project.
    rows: rows({ read: 403, 'exact (only the permission)': '2xx', 'project token of another project': '2xx' }),
  },
  'GET /v1/webhooks': {
    permission: 'manage:webhook',
    target: null,
    path: '/v1/webhooks',
    rows: rows({ read: 403, 'exact (only the permission)': '2xx', 'project token of another project': '2xx' }),
  },
  ...Object.fromEntries(
    [
      ['GET', '/v1/webhooks/{webhookID}', '/v1/webhooks/{W}'],
      ['DELETE', '/v1/webhooks/{webhookID}', '/v1/webhooks/{W}'],
      ['POST', '/v1/webhooks/{webhookID}/rotate-secret', '/v1/webhooks/{W}/rotate-secret'],
      ['GET', '/v1/webhooks/{webhookID}/deliveries', '/v1/webhooks/{W}/deliveries'],
    ].map(([method, label, path]) => [
      `${method} ${label}`,
      {
        permission: 'manage:webhook',
        target: null,
        path,
        ...(method === 'POST' ? { body: () => ({}) } : {}),
        rows: rows({ read: 403, 'exact (only the permission)': '2xx' }),
      } satisfies Operation,
    ]),
  ),
};

interface DocOperation {
  operationId: string;
  security?: unknown[];
  [k: string]: unknown;
}
const doc = JSON.parse(readFileSync(new URL('../../openapi/openapi.json', import.meta.url), 'utf8')) as {
  paths: Record<string, Record<string, DocOperation>>;
};
const DOC_OPERATIONS = Object.entries(doc.paths).flatMap(([path, ops]) =>
  Object.entries(ops).map(([method, op]) => ({ key: `${method.toUpperCase()} ${path}`, op })),
);

const FILE_SECRET = 'authz-table-file-token-confined-0123456789';
const P_NAME = unique('table-p');

let P: ProjectBody;
let Q: ProjectBody;
const callerTokens = new Map<Kind, string | null>();

async function ttlToken(body: Record<string, unknown>): Promise<{ id: string; token: string }> {
  const res = await api.post('/auth/tokens', body);
  expect(res.status, res.text.slice(0, 300)).toBe(201);
  return res.body;
}

async function publisherToken(access: 'read' | 'write'): Promise<{ id: string; token: string }> {
  const res = await api.post('/publisher.v1/api-token/create', { access });
  expect(res.status, res.text.slice(0, 300)).toBe(200);
  return res.body;
}

const holding = new Map<string, string>();
/** A global token, expiring in 2 h, holding exactly `perm` (one per permission, reused). */
async function tokenHolding(perm: string): Promise<string> {
  if (!holding.has(perm)) holding.set(perm, (await ttlToken({ ttl: '2h', permissions: [perm] })).token);
  return holding.get(perm)!;
}

/** The token a kind of caller presents for an operation (narrow and exact depend on its permission). */
async function tokenFor(kind: Kind, op: Operation): Promise<string | null> {
  const perm = op.permission ?? 'read:token';
  if (kind === 'narrow (another permission)')
    return tokenHolding(perm === 'create:project' ? 'read:project' : 'create:project');
  if (kind === 'exact (only the permission)' || kind === 'exact, on a stronger target') return tokenHolding(perm);
  return callerTokens.get(kind)!;
}

/** A webhook endpoint registered by the caller confined to P. */
async function webhookOfP(): Promise<string> {
  const res = await api.post(
    '/v1/webhooks',
    { url: 'http://127.0.0.1:9/table', events: ['token.expired'] },
    { token: callerTokens.get('scoped to the project')! },
  );
  expect(res.status, res.text.slice(0, 300)).toBe(201);
  return res.body.id;
}

/** Makes the targets: unscoped, writing, expiring in 1 h, so every target expires before the 2 h callers. */
let targetMaker: string;
const shared = new Map<string, string>();
/**
 * The token an operation acts on, holding [read:token], or for the exact callers exactly the route's
 * permission (or that and read:project, which they lack). Revoke and delete get a fresh one per cell;
 * the other operations share one (a rename or a new secret does not change who may act on it).
 */
async function targetFor(key: string, op: Operation, kind: Kind): Promise<string> {
  const perms =
    kind === 'exact (only the permission)'
      ? [op.permission!]
      : kind === 'exact, on a stronger target'
        ? [op.permission!, 'read:project']
        : ['read:token'];
  const fresh = /revoke|DELETE/.test(key);
  const cacheKey = `${op.target}|${perms.join(' ')}`;
  if (!fresh && shared.has(cacheKey)) return shared.get(cacheKey)!;
  const id =
    op.target === 'project token'
      ? (await createProjectToken(api, P.id, perms, { token: targetMaker })).id
      : (await ttlToken({ ttl: '1h', permissions: perms, projects: [P.id] })).id;
  if (!fresh) shared.set(cacheKey, id);
  return id;
}

const t = useApp(() => {
  const file = writeTokensFile({ confined: { token: FILE_SECRET, projects: [P_NAME] } });
  // No cleanup pass: it would delete the expired caller token before the last cells use it.
  return { KEYWARD_TOKENS_FILE: file, KEYWARD_CLEANUP_INTERVAL: 'off' };
});
const api = t.api;

beforeAll(async () => {
  P = await createProject(api, P_NAME);
  Q = await createProject(api);
  callerTokens.set('none', null);
  callerTokens.set('garbage', 'garbage');
  const codec = t.app.get((await import('../../src/verification/token-codec.js')).TokenCodec);
  callerTokens.set('unknown well-formed', codec.generate().token);
  callerTokens.set('read', (await publisherToken('read')).token);
  callerTokens.set('write', (await publisherToken('write')).token);
  callerTokens.set('project token of another project', (await createProjectToken(api, Q.id, WRITE_RIGHTS)).token);
  callerTokens.set(
    'scoped to the project',
    (await ttlToken({ ttl: '2h', permissions: WRITE_RIGHTS, projects: [P.id] })).token,
  );
  callerTokens.set('tokens file, confined to the project', FILE_SECRET);
  targetMaker = (await ttlToken({ ttl: '1h', permissions: WRITE_RIGHTS })).token;
  const revoked = await publisherToken('write');
  expect((await api.post('/publisher.v1/api-token/revoke', { id: revoked.id })).status).toBe(200);
  callerTokens.set('revoked', revoked.token);
  const used = await ttlToken({ ttl: '1h', remove_on_use: true });
  expect((await api.get('/v1/projects', { token: used.token })).status).toBe(200);
  callerTokens.set('single-use already used', used.token);
  callerTokens.set('expired', (await ttlToken({ ttl: '1s' })).token);
  await new Promise((r) => setTimeout(r, 1200));
});

describe('the table covers the OpenAPI document', () => {
  it('every operation of openapi/openapi.json has rows, and every row an operation', () => {
    const inDoc = DOC_OPERATIONS.map((o) => o.key).sort();
    expect(Object.keys(TABLE).sort()).toEqual(inDoc);
    for (const op of Object.values(TABLE)) expect(Object.keys(op.rows).sort()).toEqual([...KINDS].sort());
  });

  it('every protected operation names its one permission in the document, public ones no security', () => {
    for (const { key, op } of DOC_OPERATIONS) {
      const row = TABLE[key];
      if (!row) continue;
      if (row.checksOwnToken) {
        expect(op.security?.length, key).toBeGreaterThan(0);
        continue;
      }
      if (row.permission === null) {
        expect(op.security ?? [], key).toEqual([]);
        continue;
      }
      expect(op.security?.length, key).toBeGreaterThan(0);
      expect(JSON.stringify(op), key).toContain(row.permission);
    }
  });
});

const CODE: Record<number, string> = { 401: 'authentication_error', 403: 'authorization_error', 404: 'not_found' };
/** The error code, in the envelope of the route's style (the Calyptia-style routes answer {error, detail, code}). */
const errorCode = (path: string, res: Res) =>
  (/^\/v1\/project/.test(path) ? calyptiaErrorOf(res) : envelopeOf(res)).code;

describe.each(Object.entries(TABLE).map(([key, op]) => ({ key, op })))('$key', ({ key, op }) => {
  const [method] = key.split(' ');
  it.each([...KINDS])('%s', async (kind) => {
    const want = op.rows[kind];
    const target = op.target ? await targetFor(key, op, kind) : '';
    const before = target ? (await storedRights(t, [target])).get(target) : undefined;
    const doomed = op.path.includes('{D}') ? (await createProject(api)).id : '';
    const hook = op.path.includes('{W}') ? await webhookOfP() : '';
    const fill = (s: string) =>
      s.replaceAll('{P}', P.id).replaceAll('{T}', target).replaceAll('{D}', doomed).replaceAll('{W}', hook);
    const body = op.body?.();
    const res: Res = await api.call(method, fill(op.path), {
      token: await tokenFor(kind, op),
      ...(body !== undefined ? { body: JSON.parse(fill(JSON.stringify(body))) } : {}),
    });
    if (want === '2xx') {
      expect(res.status, res.text.slice(0, 300)).toBeGreaterThanOrEqual(200);
      expect(res.status, res.text.slice(0, 300)).toBeLessThan(300);
    } else {
      expect(res.status, res.text.slice(0, 300)).toBe(want);
      expect(errorCode(op.path, res)).toBe(CODE[want]);
      if (target)
        expect((await storedRights(t, [target])).get(target), 'a refused call changed the target').toEqual(before);
    }
  });
});

describe('around the table', () => {
  it('every header style carries a token; Basic is not a token', async () => {
    const write = callerTokens.get('write')!;
    for (const header of ['authorization', 'x-token', 'x-api-key', 'x-project-token']) {
      expect((await api.get('/v1/projects', { token: write, header })).status, header).toBe(200);
    }
    const basic = await api.get('/v1/projects', {
      token: null,
      headers: { authorization: `Basic ${Buffer.from(`x:${ADMIN_TOKEN}`).toString('base64')}` },
    });
    expect(basic.status).toBe(401);
  });

  it('401 says why: missing or invalid, or expired', async () => {
    const none = await api.post('/api-token/list', {}, { token: null });
    expect(envelopeOf(none)).toMatchObject({ code: 'authentication_error', message: 'Invalid or missing API token' });
    const expired = await api.post('/api-token/list', {}, { token: callerTokens.get('expired')! });
    expect(envelopeOf(expired)).toMatchObject({ code: 'authentication_error', message: 'Token expired' });
    const long = await api.post('/api-token/list', {}, { token: 'x'.repeat(4000) });
    expect(long.status).toBe(401);
  });

  it('/docs and the OpenAPI document answer without a token (the table covers every other route)', async () => {
    expect((await api.get('/docs', { token: null })).status).toBeLessThan(400);
    expect((await api.get('/openapi.json', { token: null })).status).toBe(200);
  });

  it('accepts the versioned Accept header of the TTL-token clients', async () => {
    const res = await api.call('POST', '/api-token/list', {
      body: {},
      headers: { accept: 'Application/vnd.pkglatv1+json' },
    });
    expect(res.status).toBe(200);
  });

  it('a malformed id in the path is 400 for a caller allowed past the guard', async () => {
    for (const [key, op] of Object.entries(TABLE)) {
      if (!op.path.includes('{')) continue;
      const [method] = key.split(' ');
      const path = op.path.replace(/\{[PTD]\}/g, 'not-a-uuid');
      const res = await api.call(method, path, op.body ? { body: op.body() } : {});
      expect(res.status, key).toBe(400);
      expect(errorCode(op.path, res)).toBe('bad_request');
    }
  });
});
