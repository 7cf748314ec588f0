import { describe, expect, it } from 'vitest';
import {
  accessOf,
  grants,
  grantsAll,
  isPermission,
  normalizePermissions,
  Permission,
  permissionsForAccess,
} from './permissions.js';
import {
  endpointHears,
  enforce,
  grantWithin,
  mayCall,
  mayChange,
  mayCreateProject,
  mayGrantProjects,
  mayRevoke,
  maySee,
  maySeeEndpoint,
  mayUseProjectRoute,
  projectVisible,
  reachesProject,
  REASONS,
  type Rights,
  verifyAllows,
} from './policy.js';
import { principal, type Principal } from './principal.js';
import { canonicalProjectId, canonicalScope, inScope, scopeWithin } from './scope.js';

const P = '123e4567-e89b-12d3-a456-426614174000';
const Q = '223e4567-e89b-12d3-a456-426614174000';
const WRITE = permissionsForAccess('write');
const HOUR = 3_600_000;
const in1h = new Date(Date.now() + HOUR);
const in2h = new Date(Date.now() + 2 * HOUR);

function caller(over: Partial<Omit<Principal, 'access'>> = {}): Principal {
  return principal({
    source: 'database',
    id: 'c',
    name: null,
    kind: 'global',
    permissions: WRITE,
    projects: null,
    expiresAt: null,
    singleUse: false,
    parentId: null,
    ...over,
  });
}
const rights = (over: Partial<Rights> = {}): Rights => ({
  permissions: WRITE,
  projects: null,
  expiresAt: null,
  singleUse: false,
  ...over,
});

describe('permissions', () => {
  it('lets <action>:* cover every resource of that action and nothing else', () => {
    expect(grants(['create:*'], Permission.CreateToken)).toBe(true);
    expect(grants(['create:*'], Permission.CreateAll)).toBe(true);
    expect(grants(['create:*'], Permission.ReadToken)).toBe(false);
    expect(grants(['create:token'], Permission.CreateAll)).toBe(false);
    expect(grants(['create:token'], Permission.CreateProject)).toBe(false);
  });

  it('checks whole grants and never grants values outside the enum', () => {
    expect(grantsAll(WRITE, ['delete:token', 'read:project'])).toBe(true);
    expect(grantsAll(permissionsForAccess('read'), ['read:token', 'update:token'])).toBe(false);
    expect(grantsAll(['create:*'], ['create:everything'])).toBe(false);
    expect(isPermission('read:*')).toBe(true);
    expect(isPermission('admin')).toBe(false);
  });

  it('derives access from permissions; access levels stand for explicit lists', () => {
    expect(accessOf(['read:*', 'read:token'])).toBe('read');
    expect(accessOf(['read:*', 'delete:token'])).toBe('write');
    expect(accessOf(['create:token'])).toBe('write');
    expect(permissionsForAccess('read')).toEqual(['read:*']);
    expect(permissionsForAccess('write')).toEqual(['create:*', 'read:*', 'update:*', 'delete:*']);
  });

  it('an empty permission list grants nothing', () => {
    for (const p of Object.values(Permission)) expect(grants([], p)).toBe(false);
    expect(principal({ ...caller(), permissions: [] }).access).toBe('read');
  });

  it('normalises: unique, in the enum order, unknown values dropped', () => {
    expect(normalizePermissions(['read:token', 'create:*', 'read:token', 'delete:project', 'root'])).toEqual([
      'create:*',
      'read:token',
      'delete:project',
    ]);
  });
});

describe('scope', () => {
  it('compares project ids in one canonical form', () => {
    expect(canonicalProjectId(` ${P.toUpperCase()} `)).toBe(P);
    expect(canonicalScope([P.toUpperCase(), P, 'not-a-uuid'])).toEqual([P]);
    expect(inScope([P], P.toUpperCase())).toBe(true);
    expect(inScope(null, Q)).toBe(true);
    expect(inScope([], P)).toBe(false);
  });

  it('orders scopes by inclusion: every project contains all, an empty scope is inside everything', () => {
    expect(scopeWithin([P], null)).toBe(true);
    expect(scopeWithin(null, [P])).toBe(false);
    expect(scopeWithin([P], [P, Q])).toBe(true);
    expect(scopeWithin([P, Q], [P])).toBe(false);
    expect(scopeWithin([], [P])).toBe(true);
    expect(scopeWithin(null, null)).toBe(true);
  });
});

describe('rule 1: a route requires one permission', () => {
  it('allows holders of the permission or its wildcard, refuses others with 403', () => {
    expect(mayCall(caller({ permissions: [Permission.ReadToken] }), Permission.ReadToken).allowed).toBe(true);
    expect(mayCall(caller({ permissions: [Permission.ReadAll] }), Permission.ReadToken).allowed).toBe(true);
    const refused = mayCall(caller({ permissions: [Permission.CreateToken] }), Permission.ReadToken);
    expect(refused).toMatchObject({ allowed: false, status: 403 });
  });
});

describe('rule 2: a caller sees only tokens inside its scope', () => {
  it('unscoped callers see everything; scoped ones only tokens scoped inside theirs (404 otherwise)', () => {
    expect(maySee(caller(), rights({ projects: [P] })).allowed).toBe(true);
    expect(maySee(caller({ projects: [P] }), rights({ projects: [P] })).allowed).toBe(true);
    expect(maySee(caller({ projects: [P, Q] }), rights({ projects: [P] })).allowed).toBe(true);
    expect(maySee(caller({ projects: [P] }), rights({ projects: [P, Q] }))).toMatchObject({ status: 404 });
    expect(maySee(caller({ projects: [P] }), rights({ projects: null }))).toMatchObject({ status: 404 });
  });
});

describe('rule 3: revoke only visible tokens that hold nothing the caller lacks', () => {
  it('refuses stronger targets with 403 and invisible ones with 404', () => {
    const narrow = caller({ permissions: [Permission.DeleteToken, Permission.ReadToken] });
    expect(mayRevoke(narrow, rights({ permissions: [Permission.ReadToken] })).allowed).toBe(true);
    expect(mayRevoke(narrow, rights())).toMatchObject({ status: 403 });
    expect(mayRevoke(caller({ projects: [P] }), rights({ projects: [Q] }))).toMatchObject({ status: 404 });
  });
});

describe('rule 4: change or rotate only into rights inside the caller', () => {
  const updater = caller({ permissions: [Permission.UpdateToken, Permission.ReadToken], projects: [P] });
  it('refuses to downgrade a stronger token', () => {
    const strong = rights({ permissions: WRITE, projects: [P] });
    expect(mayChange(updater, strong, { ...strong, permissions: [Permission.ReadToken] })).toMatchObject({
      status: 403,
    });
  });
  it('allows changes that stay within the caller, refuses widening', () => {
    const weak = rights({ permissions: [Permission.ReadToken], projects: [P] });
    expect(mayChange(updater, weak, { ...weak, permissions: [Permission.UpdateToken] }).allowed).toBe(true);
    expect(mayChange(updater, weak, { ...weak, permissions: [Permission.DeleteToken] })).toMatchObject({
      status: 403,
    });
    expect(mayChange(updater, weak, { ...weak, permissions: [] })).toMatchObject({ status: 403 });
  });
  it('refuses a token that outlives the caller, and reusable targets to single-use callers', () => {
    const expiring = caller({ expiresAt: in1h });
    expect(mayChange(expiring, rights({ expiresAt: null }))).toMatchObject({ status: 403 });
    expect(mayChange(expiring, rights({ expiresAt: in2h }))).toMatchObject({ status: 403 });
    expect(mayChange(expiring, rights({ expiresAt: new Date(Date.now() + 1000) })).allowed).toBe(true);
    expect(mayChange(caller({ singleUse: true }), rights())).toMatchObject({ status: 403 });
  });
});

describe('rule 5: whatever a caller creates ends inside it', () => {
  it('refuses permissions the caller lacks, and empty lists', () => {
    const c = caller({ permissions: [Permission.CreateToken] });
    expect(grantWithin(c, rights({ permissions: [Permission.ReadAll] })).decision).toMatchObject({ status: 403 });
    expect(grantWithin(c, rights({ permissions: [] })).decision).toMatchObject({ status: 403 });
    expect(grantWithin(c, rights({ permissions: [Permission.CreateToken] })).decision.allowed).toBe(true);
  });
  it('refuses scopes outside the caller and empty scopes', () => {
    const c = caller({ projects: [P] });
    expect(grantWithin(c, rights({ projects: null })).decision).toMatchObject({ status: 403 });
    expect(grantWithin(c, rights({ projects: [P, Q] })).decision).toMatchObject({ status: 403 });
    expect(grantWithin(c, rights({ projects: [] })).decision).toMatchObject({ status: 403 });
    expect(grantWithin(c, rights({ projects: [P] })).decision.allowed).toBe(true);
  });
  it('caps the expiry at the caller’s', () => {
    const c = caller({ expiresAt: in1h });
    expect(grantWithin(c, rights({ expiresAt: null })).rights.expiresAt).toEqual(in1h);
    expect(grantWithin(c, rights({ expiresAt: in2h })).rights.expiresAt).toEqual(in1h);
    const soon = new Date(Date.now() + 1000);
    expect(grantWithin(c, rights({ expiresAt: soon })).rights.expiresAt).toEqual(soon);
  });
  it('lets single-use callers create only single-use tokens', () => {
    const c = caller({ singleUse: true });
    expect(grantWithin(c, rights({ singleUse: false })).decision).toMatchObject({ status: 403 });
    expect(grantWithin(c, rights({ singleUse: true })).decision.allowed).toBe(true);
  });
});

describe('rule 6: projects are created by unscoped callers only', () => {
  it('refuses any confined caller', () => {
    expect(mayCreateProject(caller()).allowed).toBe(true);
    expect(mayCreateProject(caller({ projects: [P] }))).toMatchObject({ status: 403 });
    expect(mayCreateProject(caller({ projects: [] }))).toMatchObject({ status: 403 });
  });
});

describe('rule 5 for projects named in a create request', () => {
  it('refuses a confined caller the same way for a project outside its scope and for no project', () => {
    const confined = caller({ projects: [P] });
    expect(mayGrantProjects(confined, [P.toUpperCase()]).allowed).toBe(true);
    expect(mayGrantProjects(confined, [P, Q])).toEqual({ allowed: false, status: 403, reason: REASONS.projects });
    expect(mayGrantProjects(confined, [null])).toEqual({ allowed: false, status: 403, reason: REASONS.projects });
  });
  it('lets an unconfined caller name any project (unknown ones are the style’s bad input)', () => {
    expect(mayGrantProjects(caller(), [P, null]).allowed).toBe(true);
  });
});

describe('rule 8: projects and webhook endpoints are seen like tokens', () => {
  it('filters a project read by the caller scope before any query', () => {
    expect(projectVisible(null, P)).toBe(true);
    expect(projectVisible([P], P.toUpperCase())).toBe(true);
    expect(projectVisible([P], Q)).toBe(false);
    expect(projectVisible([], P)).toBe(false);
  });
  it('answers 404 for a project route outside the caller scope', () => {
    expect(mayUseProjectRoute(caller(), Q).allowed).toBe(true);
    expect(mayUseProjectRoute(caller({ projects: [P] }), P).allowed).toBe(true);
    expect(mayUseProjectRoute(caller({ projects: [P] }), Q)).toMatchObject({ allowed: false, status: 404 });
    expect(() => enforce(mayUseProjectRoute(caller({ projects: [] }), P), 'Project not found')).toThrow(
      expect.objectContaining({ status: 404, message: 'Project not found' }),
    );
  });
  it('shows an endpoint to callers whose scope holds its own', () => {
    const everywhere = { unscoped: true, scopeProjects: [] };
    const inP = { unscoped: false, scopeProjects: [P] };
    expect(maySeeEndpoint(caller(), everywhere)).toBe(true);
    expect(maySeeEndpoint(caller({ projects: [P] }), everywhere)).toBe(false);
    expect(maySeeEndpoint(caller({ projects: [P, Q] }), inP)).toBe(true);
    expect(maySeeEndpoint(caller({ projects: [Q] }), inP)).toBe(false);
  });
  it('lets an endpoint hear only of tokens inside its scope', () => {
    const inP = { unscoped: false, scopeProjects: [P] };
    expect(endpointHears({ unscoped: true, scopeProjects: [] }, null)).toBe(true);
    expect(endpointHears(inP, [P])).toBe(true);
    expect(endpointHears(inP, [P, Q])).toBe(false);
    expect(endpointHears(inP, null)).toBe(false);
    // An unscoped endpoint's list is ignored, whatever it holds.
    expect(endpointHears({ unscoped: true, scopeProjects: [P] }, [Q])).toBe(true);
  });
});

describe('rule 9: verify answers VALID only when the token holds what is asked', () => {
  it('asks for the permission (wildcards cover) and every application scope', () => {
    const subject = caller({ permissions: [Permission.ReadAll], scopes: ['orders:read'] });
    expect(verifyAllows(subject, {})).toBe(true);
    expect(verifyAllows(subject, { permission: Permission.ReadToken })).toBe(true);
    expect(verifyAllows(subject, { permission: Permission.UpdateToken })).toBe(false);
    expect(verifyAllows(subject, { scopes: [] })).toBe(true);
    expect(verifyAllows(subject, { scopes: ['orders:read'] })).toBe(true);
    expect(verifyAllows(subject, { scopes: ['orders:read', 'orders:write'] })).toBe(false);
  });
  it('asks for the project: every one for an unconfined token, a listed name as is, else the id looked up', async () => {
    const lookups: string[] = [];
    const resolve = (ids: Record<string, string | null>) => (p: string) => {
      lookups.push(p);
      return Promise.resolve(ids[p] ?? null);
    };
    expect(await reachesProject(caller(), 'anything', resolve({}))).toBe(true);
    const entry = { projects: [P], projectNames: ['staging'] };
    expect(await reachesProject(entry, 'staging', resolve({}))).toBe(true);
    expect(lookups).toEqual([]);
    expect(await reachesProject(entry, 'prod', resolve({ prod: P }))).toBe(true);
    expect(await reachesProject(entry, 'other', resolve({ other: Q }))).toBe(false);
    expect(await reachesProject(entry, 'gone', resolve({}))).toBe(false);
    expect(lookups).toEqual(['prod', 'other', 'gone']);
  });
});

describe('enforce', () => {
  it('throws 404 and 403 as the API errors', () => {
    expect(() => enforce({ allowed: true })).not.toThrow();
    expect(() => enforce({ allowed: false, status: 404, reason: 'x' })).toThrow(
      expect.objectContaining({ status: 404 }),
    );
    expect(() => enforce({ allowed: false, status: 403, reason: 'no' })).toThrow(
      expect.objectContaining({ status: 403, message: 'no' }),
    );
  });
});
