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

/** The rights that bound a token as the walk up its tree narrows them. */
interface Bounds {
  permissions: readonly string[];
  projects: Scope;
  scopes: readonly string[];
  expiresAt: Date | null;
}

/** The most final reason wins: revoked, then disabled, then expired. */
const FINALITY: Record<TreeState['code'], number> = { REVOKED: 3, DISABLED: 2, EXPIRED: 1, USED: 0, VALID: -1 };

/** The walk up the token tree: the rights left, the most final end met so far, the ids passed. */
class TreeWalk {
  ended: TreeState['code'] | null = null;

  constructor(
    public bounds: Bounds,
    readonly ids: string[],
  ) {}

  end(code: TreeState['code']): void {
    if (this.ended === null || FINALITY[code] > FINALITY[this.ended]) this.ended = code;
  }

  /** Narrows the rights by an ancestor's (or the root's): permissions, projects, scopes, the earliest expiry. */
  bound(r: Bounds): void {
    const b = this.bounds;
    this.bounds = {
      permissions: intersectPermissions(b.permissions, r.permissions),
      scopes: intersectScopes(b.scopes, r.scopes),
      projects: intersectScope(b.projects, r.projects),
      expiresAt: r.expiresAt && (!b.expiresAt || r.expiresAt < b.expiresAt) ? r.expiresAt : b.expiresAt,
    };
  }
}

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
  const walk = new TreeWalk(own, [row.id]);
  const top = walkAncestors(walk, row, ancestors, now);
  walkToRoot(walk, top, root, now);
  const { permissions, projects, scopes, expiresAt } = walk.bounds;
  const principal: Principal = {
    ...own,
    home: own.projects,
    permissions: normalizePermissions(permissions),
    access: accessOf(permissions),
    projects,
    scopes,
    expiresAt,
  };
  return { code: codeOf(row, walk.ended, expiresAt, now), principal, ids: walk.ids };
}

/** Up the ancestor rows while they link up, parent first; returns the creator above the last one. */
function walkAncestors(walk: TreeWalk, row: TokenRow, ancestors: readonly TokenRow[], now: Date): string | null {
  let parentId = row.createdById;
  for (const a of ancestors) {
    if (a.id !== parentId) break;
    walk.ids.push(a.id);
    if (a.revokedAt) walk.end('REVOKED');
    else if (!a.enabled) walk.end('DISABLED');
    else if (a.expiresAt && a.expiresAt <= now) walk.end('EXPIRED');
    walk.bound({
      permissions: normalizePermissions(a.permissions),
      projects: scopeOf(a),
      scopes: a.scopes,
      expiresAt: a.expiresAt,
    });
    parentId = a.createdById;
  }
  return parentId;
}

/** The creator the ancestor rows stop at: a configured root, or a token row that is gone. */
function walkToRoot(walk: TreeWalk, parentId: string | null, root: (id: string) => RootRights | null, now: Date): void {
  if (isTokenId(parentId)) {
    // The walk stopped at a row that is gone (or too deep): nothing vouches for the token any more.
    walk.ids.push(parentId!);
    walk.end('REVOKED');
    return;
  }
  if (parentId === null) return;
  if (parentId.startsWith('file:')) walk.ids.push(parentId);
  const r = root(parentId);
  if (r === null) return walk.end('DISABLED');
  if (!r.enabled) walk.end('DISABLED');
  else if (r.expiresAt && r.expiresAt <= now) walk.end('EXPIRED');
  walk.bound(r);
}

/** The verdict: the token's own state first, then how its tree ends it, then its effective expiry. */
function codeOf(row: TokenRow, ended: TreeState['code'] | null, expiresAt: Date | null, now: Date): TreeState['code'] {
  if (row.revokedAt) return 'REVOKED';
  if (row.usedAt) return 'USED';
  if (row.expiresAt && row.expiresAt <= now) return 'EXPIRED';
  if (!row.enabled) return 'DISABLED';
  if (ended !== null) return ended;
  if (expiresAt && expiresAt <= now) return 'EXPIRED';
  return 'VALID';
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
