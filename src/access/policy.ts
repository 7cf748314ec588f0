import { ApiError } from '../common/errors/api-error.js';
import { SCOPE_REASON, scopesGrant, scopesWithin } from './app-scopes.js';
import { grants, grantsAll, type Permission } from './permissions.js';
import type { Principal } from './principal.js';
import { inScope, type Scope, scopeWithin } from './scope.js';

/**
 * The authorization policy: who may do what to which token. Pure functions over the one model of
 * rights (permissions, project scope, expiry, single-use); every route, the guard, the verify API and
 * the CLI go through them.
 *
 * 1. A route requires exactly one permission (`mayCall`).
 * 2. A caller sees only tokens whose scope is inside its own (`maySee`; anything else is "not found").
 * 3. It may revoke or delete only tokens it sees that hold no permission it lacks (`mayRevoke`).
 * 4. It may change or rotate only such tokens, and only if the result ends inside the caller
 *    (`mayChange`).
 * 5. Whatever it creates ends inside the caller: permissions ⊆, scope ⊆, expiry ≤ (capped), and a
 *    single-use caller creates only single-use tokens (`grantWithin`).
 * 6. Projects are created and renamed only by unscoped callers (`mayCreateProject`,
 *    `mayRenameProject`): names are one namespace over every project.
 * 7. A secret in its rotation grace is a shadow of its token: it expires with the grace (so whatever it
 *    creates does too) and it may not rotate, disable, enable, revoke or change its own token
 *    (`mayManageToken`).
 * 8. Projects and webhook endpoints are seen like tokens (rule 2): a project outside the caller's scope
 *    is "not found" (`projectVisible`, the filter repositories apply before they query, and
 *    `mayUseProjectRoute`, the guard's check of a project in a route's path); an endpoint is seen by
 *    callers whose scope holds its own (`maySeeEndpoint`), and hears only of tokens inside that scope
 *    (`endpointHears`).
 * 9. A verify request is answered VALID only if the token holds what it asks: the permission and every
 *    application scope (`verifyAllows`), and the project (`reachesProject`).
 *
 * The caller's rights are its effective ones: the verifier bounds a token by every ancestor in the
 * token tree (see tokens/token-rights.ts), so these rules never grant beyond an ancestor either.
 */

/** The rights a token carries, as far as the policy is concerned. */
export interface Rights {
  permissions: readonly string[];
  projects: Scope;
  expiresAt: Date | null;
  singleUse: boolean;
  /** Application scopes (absent: none). Rules 3-5 treat them like permissions. */
  scopes?: readonly string[];
}

export type Decision = { allowed: true } | { allowed: false; status: 403 | 404; reason: string };

const ALLOW: Decision = { allowed: true };
const deny = (status: 403 | 404, reason: string): Decision => ({ allowed: false, status, reason });

export const REASONS = {
  missingPermission: (p: Permission) => `This token lacks the ${p} permission`,
  notFound: 'Token not found',
  strongerTarget: 'Cannot act on a token that holds permissions you do not have',
  permissions: 'Cannot grant permissions you do not have',
  projects: 'Cannot grant access to projects outside your own scope',
  noProjects: 'Your token is confined to no existing project: it cannot grant anything',
  expiry: 'Cannot give a token a lifetime beyond your own',
  singleUse: 'A single-use token can only create single-use tokens',
  emptyPermissions: 'A token needs at least one permission',
  unscopedOnly: 'Only a token that is not confined to projects may create projects',
  renameUnscopedOnly: 'Only a token that is not confined to projects may rename projects',
  shadow: 'A secret in its rotation grace cannot manage its own token: use the new secret',
} as const;

/** Rule 1: may the caller call a route that requires `permission`? */
export function mayCall(caller: Principal, permission: Permission): Decision {
  return grants(caller.permissions, permission) ? ALLOW : deny(403, REASONS.missingPermission(permission));
}

/** Rule 2: may the caller see (list, get, verify) a token with these rights? */
export function maySee(caller: Principal, target: Pick<Rights, 'projects'>): Decision {
  return scopeWithin(target.projects, caller.projects) ? ALLOW : deny(404, REASONS.notFound);
}

/** Rule 3: may the caller revoke or delete this token? */
export function mayRevoke(caller: Principal, target: Rights): Decision {
  const seen = maySee(caller, target);
  if (!seen.allowed) return seen;
  if (!grantsAll(caller.permissions, target.permissions)) return deny(403, REASONS.strongerTarget);
  return scopesWithin(caller, target.scopes ?? []) ? ALLOW : deny(403, REASONS.strongerTarget);
}

/**
 * Rule 4: may the caller change (PATCH) or rotate this token into `next` (default: unchanged rights)?
 * The token must be one it may revoke, and the result must lie inside the caller, expiry included.
 */
export function mayChange(caller: Principal, target: Rights, next: Rights = target): Decision {
  const revocable = mayRevoke(caller, target);
  if (!revocable.allowed) return revocable;
  const inside = within(caller, next);
  if (!inside.allowed) return inside;
  if (caller.expiresAt && (!next.expiresAt || next.expiresAt > caller.expiresAt)) return deny(403, REASONS.expiry);
  return ALLOW;
}

/**
 * Rule 5: the rights a new token gets, or the refusal. Never more than the caller holds; the expiry is
 * capped at the caller's own (a token created by an expiring token never outlives it).
 */
export function grantWithin(caller: Principal, wanted: Rights): { decision: Decision; rights: Rights } {
  const decision = within(caller, wanted);
  const capped =
    caller.expiresAt && (!wanted.expiresAt || wanted.expiresAt > caller.expiresAt)
      ? caller.expiresAt
      : wanted.expiresAt;
  return { decision, rights: { ...wanted, expiresAt: capped } };
}

/** Rule 6: may the caller create a project? (It also needs `create:project`, checked as rule 1.) */
export function mayCreateProject(caller: Principal): Decision {
  return caller.projects === null ? ALLOW : deny(403, REASONS.unscopedOnly);
}

/** Rule 6: may the caller rename a project? (It also needs `update:project`, checked as rule 1.) */
export function mayRenameProject(caller: Principal): Decision {
  return caller.projects === null ? ALLOW : deny(403, REASONS.renameUnscopedOnly);
}

/** Rule 7: may the caller rotate, switch, revoke or change the token `targetId`? */
export function mayManageToken(caller: Principal, targetId: string): Decision {
  return caller.graceUntil && caller.id === targetId ? deny(403, REASONS.shadow) : ALLOW;
}

/**
 * Rule 5 for projects named by id in a create request (`resolved`: their ids, null for a name that
 * names no project): a confined caller gets the same refusal for a project outside its scope and for no
 * project at all, so it learns nothing about other projects; an unconfined one sees every project (and
 * the style reports unknown ones as bad input).
 */
export function mayGrantProjects(caller: Pick<Principal, 'projects'>, resolved: readonly (string | null)[]): Decision {
  if (caller.projects === null) return ALLOW;
  const scope = caller.projects;
  return resolved.every((id) => id !== null && inScope(scope, id)) ? ALLOW : deny(403, REASONS.projects);
}

/**
 * Rule 8, the scope filter repositories apply before they query: is `projectId` among the projects a
 * caller confined to `within` sees (null: every project)? A project outside is "not found".
 */
export function projectVisible(within: Scope, projectId: string): boolean {
  return inScope(within, projectId);
}

/** Rule 8 on a route with a project in its path: a project outside the caller's scope is not found (404). */
export function mayUseProjectRoute(caller: Pick<Principal, 'projects'>, projectId: string): Decision {
  return projectVisible(caller.projects, projectId) ? ALLOW : deny(404, 'Project not found');
}

/** A webhook endpoint's project scope: its creator's, kept as its list (`unscoped`: every project). */
export interface EndpointScope {
  unscoped: boolean;
  scopeProjects: readonly string[];
}

const endpointScope = (endpoint: EndpointScope): Scope => (endpoint.unscoped ? null : endpoint.scopeProjects);

/** Rule 8: may the caller see (list, get, change, delete) this webhook endpoint? */
export function maySeeEndpoint(caller: Pick<Principal, 'projects'>, endpoint: EndpointScope): boolean {
  return scopeWithin(endpointScope(endpoint), caller.projects);
}

/** Rule 8: does this endpoint hear of an event about a token with project scope `token`? */
export function endpointHears(endpoint: EndpointScope, token: Scope): boolean {
  return scopeWithin(token, endpointScope(endpoint));
}

/** Rule 9: does the token hold the permission and every application scope a verify request asks for? */
export function verifyAllows(
  subject: Pick<Principal, 'permissions' | 'scopes'>,
  ask: { permission?: Permission; scopes?: readonly string[] },
): boolean {
  return (
    (!ask.permission || grants(subject.permissions, ask.permission)) &&
    (!ask.scopes?.length || scopesGrant(subject.scopes, ask.scopes))
  );
}

/**
 * Rule 9: is the project a verify request names (an id or a name) inside the token's scope? An
 * unconfined token reaches every project, a tokens-file entry every name it lists (whether or not a
 * project bears it); otherwise `resolve` finds the project's id (null: none), asked only then.
 */
export async function reachesProject(
  subject: Pick<Principal, 'projects' | 'projectNames'>,
  project: string,
  resolve: (project: string) => Promise<string | null>,
): Promise<boolean> {
  if (subject.projects === null || subject.projectNames?.includes(project)) return true;
  const scope = subject.projects;
  const id = await resolve(project);
  return id !== null && inScope(scope, id);
}

/** Permissions ⊆, scope ⊆ (and not empty), single-use callers only single-use. Expiry is the caller's to cap. */
function within(caller: Principal, wanted: Rights): Decision {
  if (!wanted.permissions.length) return deny(403, REASONS.emptyPermissions);
  if (!grantsAll(caller.permissions, wanted.permissions)) return deny(403, REASONS.permissions);
  if (wanted.projects !== null && wanted.projects.length === 0) return deny(403, REASONS.noProjects);
  if (!scopeWithin(wanted.projects, caller.projects)) return deny(403, REASONS.projects);
  if (caller.singleUse && !wanted.singleUse) return deny(403, REASONS.singleUse);
  if (!scopesWithin(caller, wanted.scopes ?? [])) return deny(403, SCOPE_REASON);
  return ALLOW;
}

/** Throws the refusal as the API's error (404 "not found" or 403 with the reason); returns on allow. */
export function enforce(decision: Decision, notFoundMessage: string = REASONS.notFound): void {
  if (decision.allowed) return;
  if (decision.status === 404) throw ApiError.notFound(notFoundMessage);
  throw ApiError.forbidden(decision.reason);
}
