import type { Principal } from './principal.js';

/**
 * Application scopes: the user's own vocabulary of what a token may do in the user's APIs
 * (`docs:delete`, `stations:read`, `plan:pro`), beside Keyward's management permissions.
 *
 * A scope is one or more `:`-separated segments of letters, digits, `_`, `.` and `-`
 * (case-sensitive, at most 100 characters), optionally ending in the wildcard segment `*`:
 * `docs:*` stands for every scope that starts with `docs:` (`docs:delete`, `docs:x:y`, `docs:*` itself),
 * and `*` alone for every scope. Wildcards are prefixes, so the policy can compare them exactly: a
 * holder of `docs:*` may grant `docs:delete` or `docs:*`, a holder of `docs:delete` may not grant
 * `docs:*`.
 */
export const SCOPE_PATTERN = /^(\*|[A-Za-z0-9_.-]+(:[A-Za-z0-9_.-]+)*(:\*)?)$/;
export const SCOPE_PATTERN_SOURCE = '^(\\*|[A-Za-z0-9_.-]+(:[A-Za-z0-9_.-]+)*(:\\*)?)$';
export const MAX_SCOPE_LENGTH = 100;
export const MAX_SCOPES = 64;
/** Every scope: held by the admin token, the operator's CLI and unrestricted tokens-file entries. */
export const ALL_SCOPES: readonly string[] = ['*'];

/**
 * The documentation-server scopes tokens-file flags stand for: a managed token holding them may do
 * exactly what a file entry with the flag may.
 */
const DOCS_SCOPES = {
  /** `allow_overwrite: true`: replace an existing version. */
  overwrite: 'docs:overwrite',
  /** `allow_delete: true`: delete versions and projects. */
  delete: 'docs:delete',
  /** `existing_projects_only: false` (the default): upload to a project that does not exist yet. */
  createProject: 'docs:create-project',
} as const;

export function isScope(value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_SCOPE_LENGTH && SCOPE_PATTERN.test(value);
}

/** Unique and sorted (the stored and displayed form). */
export function normalizeScopes(list: readonly string[]): string[] {
  return [...new Set(list)].sort();
}

/** Does one held scope cover `required` (equal, `*`, or a `prefix:*` it starts with)? */
function covers(held: string, required: string): boolean {
  if (held === required || held === '*') return true;
  return held.endsWith(':*') && required.startsWith(held.slice(0, -1));
}

/** Does `held` cover every scope of `required`? */
export function scopesGrant(held: readonly string[], required: readonly string[]): boolean {
  return required.every((r) => held.some((h) => covers(h, r)));
}

/**
 * The scopes both sets cover (prefix wildcards: where two overlap, one contains the other), for a
 * token bounded by its ancestors.
 */
export function intersectScopes(a: readonly string[], b: readonly string[]): string[] {
  return normalizeScopes([
    ...a.filter((x) => b.some((y) => covers(y, x))),
    ...b.filter((y) => a.some((x) => covers(x, y))),
  ]);
}

/** The policy rule: a caller grants (and a child holds) only scopes the caller holds. */
export function scopesWithin(caller: Pick<Principal, 'scopes'>, wanted: readonly string[]): boolean {
  return scopesGrant(caller.scopes, wanted);
}

export const SCOPE_REASON = 'Cannot grant application scopes you do not have';

/** The scopes a tokens-file entry holds: its flags as docs scopes (all scopes when it may do everything). */
export function scopesOfFileEntry(
  access: 'read' | 'write',
  flags: { allow_overwrite: boolean; allow_delete: boolean; existing_projects_only: boolean },
): string[] {
  if (access === 'write' && flags.allow_overwrite && flags.allow_delete && !flags.existing_projects_only) {
    return [...ALL_SCOPES];
  }
  const out: string[] = [];
  if (flags.allow_overwrite) out.push(DOCS_SCOPES.overwrite);
  if (flags.allow_delete) out.push(DOCS_SCOPES.delete);
  if (!flags.existing_projects_only) out.push(DOCS_SCOPES.createProject);
  return normalizeScopes(out);
}
