import type { Rights } from '../access/policy.js';
import { intersectScopes } from '../access/app-scopes.js';
import { accessOf, intersectPermissions, normalizePermissions } from '../access/permissions.js';
import { principal, type Principal, type UsageLimits } from '../access/principal.js';
import { canonicalProjectId, canonicalScope, intersectScope, type Scope } from '../access/scope.js';
import { isUuid } from '../common/uuid.js';
import type { TokenRow } from './verification.repository.js';

/** A stored token's project scope: its project (project tokens), its narrowing, or every project. */
function scopeOf(row: Pick<TokenRow, 'kind' | 'projectId' | 'scopeProjects'>): Scope {
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
    scopes: row.scopes,
  };
}

/** The Principal a stored token authenticates as. */
function principalOf(row: TokenRow): Principal {
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
    scopes: row.scopes,
    owner: row.owner,
    meta: (row.meta as Record<string, unknown> | null) ?? null,
    limits: limitsOf(row),
  });
}

/** The current rights of a configured root of the token tree (`admin`, `cli`, a tokens-file entry). */
export interface RootRights {
  permissions: readonly string[];
  projects: Scope;
  /** Application scopes the root holds (`['*']`: every scope). */
  scopes: readonly string[];
  enabled: boolean;
  expiresAt: Date | null;
}

/** What a token is worth now, bounded by its ancestors; `ids` are every credential it depends on. */
export interface TreeState {
  code: 'VALID' | 'REVOKED' | 'USED' | 'EXPIRED' | 'DISABLED';
  principal: Principal;
  /** The token's id, its ancestors' ids and its configured root (`file:<name>`), for cache invalidation. */
  ids: string[];
}

const isTokenId = (id: string | null): boolean => id !== null && isUuid(id);

/**
 * Effective rights through the token tree: a token's rights are its own intersected with every
 * ancestor's current ones (permissions, project scope, the earliest expiry), and a revoked, disabled or
 * expired ancestor ends it. The tree's root is a configured credential: `admin` and `cli` bound nothing;
 * a tokens-file entry bounds its tree by its current rights, and ends it while disabled or removed
 * (`root` answers null). An ancestor row that no longer exists counts as revoked.
 *
 * `ancestors` are the rows above `row`, parent first (TokensRepository.findWithAncestors).
 */
export function effectiveState(
  row: TokenRow,
  ancestors: readonly TokenRow[],
  root: (id: string) => RootRights | null,
  now: Date,
): TreeState {
  const own = principalOf(row);
  const ids = [row.id];
  let permissions: readonly string[] = own.permissions;
  let projects = own.projects;
  let expiresAt = own.expiresAt;
  let scopes: readonly string[] = own.scopes;
  let ended: TreeState['code'] | null = null;
  const end = (code: TreeState['code']) => {
    // The most final reason wins: revoked, then disabled, then expired.
    const rank = { REVOKED: 3, DISABLED: 2, EXPIRED: 1, USED: 0, VALID: -1 };
    if (ended === null || rank[code] > rank[ended]) ended = code;
  };
  const bound = (r: {
    permissions: readonly string[];
    projects: Scope;
    scopes: readonly string[];
    expiresAt: Date | null;
  }) => {
    permissions = intersectPermissions(permissions, r.permissions);
    scopes = intersectScopes(scopes, r.scopes);
    projects = intersectScope(projects, r.projects);
    if (r.expiresAt && (!expiresAt || r.expiresAt < expiresAt)) expiresAt = r.expiresAt;
  };
  let parentId = row.createdById;
  for (const a of ancestors) {
    if (a.id !== parentId) break;
    ids.push(a.id);
    if (a.revokedAt) end('REVOKED');
    else if (!a.enabled) end('DISABLED');
    else if (a.expiresAt && a.expiresAt <= now) end('EXPIRED');
    bound({
      permissions: normalizePermissions(a.permissions),
      projects: scopeOf(a),
      scopes: a.scopes,
      expiresAt: a.expiresAt,
    });
    parentId = a.createdById;
  }
  if (isTokenId(parentId)) {
    // The walk stopped at a row that is gone (or too deep): nothing vouches for the token any more.
    ids.push(parentId!);
    end('REVOKED');
  } else if (parentId !== null) {
    if (parentId.startsWith('file:')) ids.push(parentId);
    const r = root(parentId);
    if (r === null) end('DISABLED');
    else {
      if (!r.enabled) end('DISABLED');
      else if (r.expiresAt && r.expiresAt <= now) end('EXPIRED');
      bound(r);
    }
  }
  const principal: Principal = {
    ...own,
    home: own.projects,
    permissions: normalizePermissions(permissions),
    access: accessOf(permissions),
    projects,
    scopes,
    expiresAt,
  };
  let code: TreeState['code'] = 'VALID';
  if (row.revokedAt) code = 'REVOKED';
  else if (row.usedAt) code = 'USED';
  else if (row.expiresAt && row.expiresAt <= now) code = 'EXPIRED';
  else if (!row.enabled) code = 'DISABLED';
  else if (ended !== null) code = ended;
  else if (expiresAt && expiresAt <= now) code = 'EXPIRED';
  return { code, principal, ids };
}

/** A stored token's usage limits; undefined when it has none (the verifier then does no extra work). */
function limitsOf(row: TokenRow): UsageLimits | undefined {
  const ratelimit =
    row.ratelimitLimit !== null && row.ratelimitDurationMs !== null
      ? { limit: row.ratelimitLimit, durationMs: row.ratelimitDurationMs }
      : null;
  const credits = row.remaining !== null;
  return ratelimit || credits ? { ratelimit, credits } : undefined;
}
