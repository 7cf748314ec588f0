import { isUuid } from '../common/uuid.js';

/** A project scope: canonical project ids, or null for every project. An empty list is no project. */
export type Scope = readonly string[] | null;

/** The one form project ids are compared in (UUIDs, lower case). */
export function canonicalProjectId(id: string): string {
  return id.trim().toLowerCase();
}

/** Canonical, unique ids; anything that is not a UUID cannot name a project and is dropped. */
export function canonicalScope(ids: readonly string[]): string[] {
  return [...new Set(ids.filter((id) => isUuid(id.trim())).map(canonicalProjectId))];
}

/** Is `projectId` inside the scope? */
export function inScope(scope: Scope, projectId: string): boolean {
  return scope === null || scope.includes(canonicalProjectId(projectId));
}

/** Is every project of `inner` inside `outer`? (null = every project.) */
export function scopeWithin(inner: Scope, outer: Scope): boolean {
  if (outer === null) return true;
  if (inner === null) return false;
  return inner.every((p) => outer.includes(canonicalProjectId(p)));
}

/** The projects both scopes hold (null = every project). */
export function intersectScope(a: Scope, b: Scope): Scope {
  if (a === null) return b;
  if (b === null) return a;
  return a.filter((p) => b.includes(canonicalProjectId(p)));
}
