import type { Rights } from '../access/policy.js';
import { normalizePermissions } from '../access/permissions.js';
import { principal, type Principal } from '../access/principal.js';
import { canonicalProjectId, canonicalScope, type Scope } from '../access/scope.js';
import type { TokenRow } from './verification.repository.js';

/** A stored token's project scope: its project (project tokens), its narrowing, or every project. */
export function scopeOf(row: Pick<TokenRow, 'kind' | 'projectId' | 'scopeProjects'>): Scope {
  if (row.kind === 'project') return row.projectId ? [canonicalProjectId(row.projectId)] : [];
  return row.scopeProjects.length ? canonicalScope(row.scopeProjects) : null;
}

/** A stored token's rights, for the policy. Permissions are explicit: an empty list grants nothing. */
export function rightsOf(row: TokenRow): Rights {
  return {
    permissions: normalizePermissions(row.permissions),
    projects: scopeOf(row),
    expiresAt: row.expiresAt,
    singleUse: row.removeOnUse,
  };
}

/** The Principal a stored token authenticates as. */
export function principalOf(row: TokenRow): Principal {
  return principal({
    source: 'database',
    id: row.id,
    name: row.name ?? row.description ?? null,
    kind: row.kind,
    permissions: normalizePermissions(row.permissions),
    projects: scopeOf(row),
    expiresAt: row.expiresAt,
    singleUse: row.removeOnUse,
    parentId: row.createdById,
  });
}
