import { ApiError } from '../common/errors/api-error.js';
import { SCOPE_REASON, scopesWithin } from './app-scopes.js';
import { grants, grantsAll, type Permission } from './permissions.js';
import type { Principal } from './principal.js';
import { type Scope, scopeWithin } from './scope.js';

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
export function enforce(decision: Decision, notFoundMessage = REASONS.notFound): void {
  if (decision.allowed) return;
  if (decision.status === 404) throw ApiError.notFound(notFoundMessage);
  throw ApiError.forbidden(decision.reason);
}
