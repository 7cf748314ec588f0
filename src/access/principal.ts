import { type Access, accessOf, type Permission, permissionsForAccess } from './permissions.js';
import type { Scope } from './scope.js';

/** Flags a tokens-file entry may carry; reported by verification. */
export interface TokenFlags {
  allow_overwrite: boolean;
  allow_delete: boolean;
  existing_projects_only: boolean;
}

/**
 * Who is calling, and what they may do: the one model of rights every credential is turned into
 * (database token, tokens-file entry, the bootstrap admin token, the operator's CLI).
 */
export interface Principal {
  /** Where the credential lives. */
  source: 'admin' | 'database' | 'file' | 'cli';
  /** Database token id, or a stable synthetic id (`admin`, `file:<name>`, `cli`). */
  id: string;
  name: string | null;
  /** Which API style's resource it is: a global (Publisher-style) token or a project token. */
  kind: 'global' | 'project';
  /** Derived from `permissions`, for display only: never checked. */
  access: Access;
  /** Explicit permission set: never empty-means-something. */
  permissions: Permission[];
  /** Canonical project ids it is confined to; null = every project; [] = none. */
  projects: Scope;
  expiresAt: Date | null;
  /** Valid for one successful authentication only. */
  singleUse: boolean;
  /** The credential this one was created through (token id, `admin`, `file:<name>`, `cli`), if any. */
  parentId: string | null;
  flags?: TokenFlags;
}

/** Builds a Principal; `access` is always derived from the permissions. */
export function principal(fields: Omit<Principal, 'access'>): Principal {
  return { ...fields, access: accessOf(fields.permissions) };
}

/**
 * A credential with every right (write, every project, no expiry, not created through another): the
 * bootstrap admin token (`admin`) and the operator at the console (`cli`).
 */
export function fullAccessPrincipal(source: 'admin' | 'cli', id: string, name: string): Principal {
  return principal({
    source,
    id,
    name,
    kind: 'global',
    permissions: permissionsForAccess('write'),
    projects: null,
    expiresAt: null,
    singleUse: false,
    parentId: null,
  });
}
