import { type Access, accessOf, type Permission, permissionsForAccess } from './permissions.js';
import type { Scope } from './scope.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller: set by the guard on protected routes, and by forward auth for its log line. */
    principal?: Principal;
  }
}

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
  /**
   * Set when the presented secret is a token's previous one, still valid in its rotation grace until
   * this time: a shadow of the token (`expiresAt` is the grace's end; it cannot manage its own token).
   */
  graceUntil?: Date;
  /**
   * Tokens-file entries only: the project names the entry lists. `POST /v1/tokens/verify` and forward
   * auth answer for these names whether or not a project bears them (upload semantics).
   */
  projectNames?: readonly string[];
  /**
   * Stored tokens only: the projects the token itself was created in, before its ancestors narrowed
   * them (`projects`). Who may see the token is decided by these: an ancestor narrowed to no project
   * must not make its descendants visible to every caller.
   */
  home?: Scope;
  flags?: TokenFlags;
  /** Application scopes it holds (see app-scopes.ts); `*` = every scope. */
  scopes: readonly string[];
  /** The user's own id of the customer or service the token belongs to. */
  owner?: string | null;
  /** The user's own metadata (a JSON object). */
  meta?: Record<string, unknown> | null;
  /** Usage limits applied after a VALID verdict (absent: none, no extra I/O). */
  limits?: UsageLimits;
}

/** A token's per-token rate limit and usage credits. */
export interface UsageLimits {
  ratelimit: { limit: number; durationMs: number } | null;
  /** The token has usage credits (their count lives in the database only). */
  credits: boolean;
}

/** Builds a Principal; `access` is always derived from the permissions. */
export function principal(fields: Omit<Principal, 'access' | 'scopes'> & { scopes?: readonly string[] }): Principal {
  return { ...fields, scopes: fields.scopes ?? [], access: accessOf(fields.permissions) };
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
    scopes: ['*'], // every application scope (see app-scopes.ts)
  });
}
