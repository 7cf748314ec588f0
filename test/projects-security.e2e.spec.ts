/**
 * The security table of the project routes: every route × every kind of caller, with the exact status
 * and envelope code. Targets (tokens to read, patch or delete) are made fresh for every row.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_PERMISSIONS, Permission } from '../src/access/permissions.js';
import { ADMIN_TOKEN, client, type Client, calyptiaErrorOf, startApp, type TestApp } from './support/app.js';
import { createGlobalToken, createProject, createProjectToken, type ProjectBody, unique } from './support/projects.js';

let t: TestApp;
let api: Client;
let P: ProjectBody;
let Q: ProjectBody;
const tokens = new Map<string, string | null>();

type CallerKind =
  | 'global write (admin)'
  | 'global write (database)'
  | 'global read'
  | 'project token with the permission'
  | 'project token with <action>:*'
  | 'project token without the permission'
  | 'token of another project'
  | 'revoked project token'
  | 'no token';

const CALLERS: CallerKind[] = [
  'global write (admin)',
  'global write (database)',
  'global read',
  'project token with the permission',
  'project token with <action>:*',
  'project token without the permission',
  'token of another project',
  'revoked project token',
  'no token',
];

const wildcardOf = (p: Permission) => `${p.split(':')[0]}:*` as Permission;
const without = (p: Permission) => ALL_PERMISSIONS.filter((x) => x !== p && x !== wildcardOf(p));

interface Route {
  name: string;
  method: 'get' | 'post' | 'patch' | 'delete';
  permission: Permission;
  /** Creating projects: callers confined to no project only. */
  globalOnly?: boolean;
  /** The path; `T` is a fresh token of project P when `needsTarget`. */
  path: (T: string) => string;
  needsTarget?: boolean;
  body?: () => unknown;
  ok: number;
  /** What a token of another project gets: 404 for anything inside P, 200 (its own only) for the list. */
  otherProject: number;
  check?: (body: any, caller: CallerKind) => void;
}

const ROUTES: Route[] = [
  {
    name: 'POST /v1/projects',
    method: 'post',
    permission: Permission.CreateProject,
    globalOnly: true,
    path: () => '/v1/projects',
    body: () => ({ name: unique('sec') }),
    ok: 201,
    otherProject: 403,
  },
  {
    name: 'GET /v1/projects',
    method: 'get',
    permission: Permission.ReadProject,
    path: () => '/v1/projects?limit=1000',
    ok: 200,
    otherProject: 200,
    check: (body, caller) => {
      const ids = body.map((p: ProjectBody) => p.id);
      if (caller === 'token of another project') expect(ids).toEqual([Q.id]);
      else if (caller.startsWith('project token')) expect(ids).toEqual([P.id]);
      else expect(ids).toEqual(expect.arrayContaining([P.id, Q.id]));
    },
  },
  {
    name: 'GET /v1/projects/{projectID}',
    method: 'get',
    permission: Permission.ReadProject,
    path: () => `/v1/projects/${P.id}`,
    ok: 200,
    otherProject: 404,
    check: (body) => expect(body).toEqual(P),
  },
  {
    name: 'PATCH /v1/projects/{projectID}',
    method: 'patch',
    permission: Permission.UpdateProject,
    path: () => `/v1/projects/${P.id}`,
    // Calyptia's null: nothing changes, so P stays as the other rows expect it.
    body: () => ({ name: null }),
    ok: 204,
    otherProject: 404,
  },
  {
    name: 'POST /v1/projects/{projectID}/tokens',
    method: 'post',
    permission: Permission.CreateToken,
    path: () => `/v1/projects/${P.id}/tokens`,
    body: () => ({ name: unique('sec'), permissions: ['create:token'] }),
    ok: 201,
    otherProject: 404,
    check: (body) => expect(body.token).toMatch(/^kw_[0-9A-Za-z]{65}$/),
  },
  {
    name: 'GET /v1/projects/{projectID}/tokens',
    method: 'get',
    permission: Permission.ReadToken,
    path: () => `/v1/projects/${P.id}/tokens`,
    ok: 200,
    otherProject: 404,
    check: (body) => expect(body.length).toBeGreaterThan(0),
  },
  ...(['/v1/project_tokens/{T}', '/v1/projects/{P}/tokens/{T}'] as const).flatMap((template): Route[] => {
    const path = (T: string) => template.replace('{T}', T).replace('{P}', P.id);
    const label = template.replace('{T}', '{tokenID}').replace('{P}', '{projectID}');
    return [
      {
        name: `GET ${label}`,
        method: 'get',
        permission: Permission.ReadToken,
        path,
        needsTarget: true,
        ok: 200,
        otherProject: 404,
        check: (body) => expect(body.permissions).toEqual(['read:token']),
      },
      {
        name: `PATCH ${label}`,
        method: 'patch',
        permission: Permission.UpdateToken,
        path,
        needsTarget: true,
        body: () => ({ name: unique('patched') }),
        ok: 204,
        otherProject: 404,
      },
      {
        name: `DELETE ${label}`,
        method: 'delete',
        permission: Permission.DeleteToken,
        path,
        needsTarget: true,
        ok: 204,
        otherProject: 404,
      },
    ];
  }),
];

function expected(route: Route, caller: CallerKind): number {
  switch (caller) {
    case 'no token':
    case 'revoked project token':
      return 401;
    case 'global write (admin)':
    case 'global write (database)':
      return route.ok;
    case 'global read':
      return route.permission.startsWith('read:') ? route.ok : 403;
    case 'token of another project':
      return route.otherProject;
    case 'project token without the permission':
      return 403;
    default:
      return route.globalOnly ? 403 : route.ok;
  }
}

const CODES: Record<number, string> = { 401: 'authentication_error', 403: 'authorization_error', 404: 'not_found' };

async function callerToken(route: Route, caller: CallerKind): Promise<string | null> {
  switch (caller) {
    case 'global write (admin)':
      return ADMIN_TOKEN;
    case 'no token':
      return null;
    case 'project token with the permission':
      return (await createProjectToken(api, P.id, [route.permission])).token;
    case 'project token with <action>:*':
      return (await createProjectToken(api, P.id, [wildcardOf(route.permission)])).token;
    case 'project token without the permission':
      return (await createProjectToken(api, P.id, without(route.permission))).token;
    default:
      return tokens.get(caller)!;
  }
}

beforeAll(async () => {
  t = await startApp();
  api = client(t.url);
  P = await createProject(api);
  Q = await createProject(api);
  tokens.set('global write (database)', await createGlobalToken(api, 'write'));
  tokens.set('global read', await createGlobalToken(api, 'read'));
  tokens.set(
    'token of another project',
    (await createProjectToken(api, Q.id, ['create:*', 'read:*', 'update:*', 'delete:*'])).token,
  );
  const revoked = await createProjectToken(api, P.id, ['create:*', 'read:*', 'update:*', 'delete:*']);
  expect((await api.delete(`/v1/project_tokens/${revoked.id}`)).status).toBe(204);
  tokens.set('revoked project token', revoked.token);
});
afterAll(async () => t?.close());

describe.each(ROUTES)('$name', (route) => {
  it.each(CALLERS)('%s', async (caller) => {
    const want = expected(route, caller);
    // Targets hold only what a caller with the route's permission holds: a caller may change or delete
    // only tokens that hold no permission it lacks (the authorization model's rule 3).
    const targetPermissions = route.method === 'get' ? ['read:token'] : [route.permission];
    const target = route.needsTarget ? (await createProjectToken(api, P.id, targetPermissions)).id : '';
    const token = await callerToken(route, caller);
    const res = await api.call(route.method.toUpperCase(), route.path(target), {
      token,
      header: 'x-project-token',
      ...(route.body ? { body: route.body() } : {}),
    });
    expect(res.status, res.text).toBe(want);
    if (want >= 400) {
      expect(calyptiaErrorOf(res).code).toBe(CODES[want]);
    } else {
      route.check?.(res.body, caller);
    }
    if (route.needsTarget) {
      // The target is untouched unless the call succeeded.
      const after = await api.get(`/v1/project_tokens/${target}`);
      expect(after.status).toBe(route.method === 'delete' && want === 204 ? 404 : 200);
      if (route.method === 'patch' && want !== 204) expect(after.body.name).not.toMatch(/^patched-/);
    }
  });
});

const MALFORMED = 'not-a-uuid';

describe('malformed ids are 400 for every caller allowed past the guard', () => {
  it.each(ROUTES.filter((r) => r.name.includes('{')))('$name', async (route) => {
    const path = route.path(MALFORMED).replace(P.id, MALFORMED);
    const res = await api.call(route.method.toUpperCase(), path, route.body ? { body: route.body() } : {});
    expect(res.status).toBe(400);
    expect(calyptiaErrorOf(res).code).toBe('bad_request');
  });
});
