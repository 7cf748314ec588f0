import { ApiError } from '../common/api-error.js';
import { type Access, grantsAll } from './permissions.js';
import type { Principal } from './principal.js';

export interface Grant {
  access?: Access;
  permissions?: string[];
  /** Project ids the new token is confined to; null = every project. */
  projects?: string[] | null;
  expiresAt?: Date | null;
}

/**
 * No privilege escalation: a caller may grant only what it holds ("Cannot grant permissions you do
 * not have"). Returns the expiry the new token gets: never later than the caller's own.
 */
export function assertCanGrant(caller: Principal, grant: Grant): Date | null {
  if (grant.access === 'write' && caller.access !== 'write') {
    throw ApiError.forbidden('Cannot grant an access level you do not have');
  }
  if (grant.permissions && !grantsAll(caller.permissions, grant.permissions)) {
    throw ApiError.forbidden('Cannot grant permissions you do not have', {
      missing: grant.permissions.filter((p) => !grantsAll(caller.permissions, [p])),
    });
  }
  if (caller.projects !== null) {
    const wanted = grant.projects ?? null;
    if (wanted === null || wanted.some((p) => !caller.projects!.includes(p))) {
      throw ApiError.forbidden('Cannot grant access to projects outside your own scope');
    }
  }
  const requested = grant.expiresAt ?? null;
  if (caller.expiresAt && (!requested || requested > caller.expiresAt)) return caller.expiresAt;
  return requested;
}
