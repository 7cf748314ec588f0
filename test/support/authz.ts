/**
 * The authorization rules, written a second time, independently of `src/access/`, as the oracle of the
 * authorization tests (model-based test, security table, regressions). Keep it small and literal: it
 * states the rules, it does not share code with what it checks.
 *
 * - A credential holds an explicit, non-empty permission set from `create|read|update|delete` ×
 *   `token|project|*`; `<action>:*` covers every resource of that action.
 * - `access: read` is `[read:*]`, `access: write` the four wildcards; the access shown is `write` as soon
 *   as the set holds anything beyond `read:…`.
 * - A scope is `null` (every project) or a set of project ids. A caller sees a token whose scope is
 *   inside its own; an unscoped token is inside no scoped caller.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseService } from '../../src/database/database.service.js';
import type { TestApp } from './app.js';

export const PERMISSIONS = [
  'create:*',
  'read:*',
  'update:*',
  'delete:*',
  'create:token',
  'read:token',
  'update:token',
  'delete:token',
  'create:project',
  'read:project',
  'update:project',
  'delete:project',
  'read:audit',
  'read:metrics',
  'manage:webhook',
] as const;
export type Perm = (typeof PERMISSIONS)[number];

export const READ_RIGHTS: Perm[] = ['read:*'];
export const WRITE_RIGHTS: Perm[] = ['create:*', 'read:*', 'update:*', 'delete:*'];

/** Does `held` grant `wanted`? `<action>:*` grants every `<action>:…`; the write wildcards grant manage:webhook. */
export function grants(held: readonly string[], wanted: string): boolean {
  // manage:webhook has no wildcard of its own: holding the four write wildcards implies it.
  if (wanted === 'manage:webhook' && WRITE_RIGHTS.every((p) => held.includes(p))) return true;
  return held.includes(wanted) || held.includes(`${wanted.split(':')[0]}:*`);
}

/** Does `held` grant every permission of `wanted` (so a token holding `wanted` is no stronger)? */
export function covers(held: readonly string[], wanted: readonly string[]): boolean {
  return wanted.every((p) => grants(held, p));
}

/** `null` = every project. */
export type Scope = readonly string[] | null;

/** Is `inner` inside `outer`? An unscoped token is inside only an unscoped caller. */
export function scopeInside(inner: Scope, outer: Scope): boolean {
  if (outer === null) return true;
  return inner !== null && inner.every((p) => outer.includes(p));
}

export function inScope(scope: Scope, project: string): boolean {
  return scope === null || scope.includes(project);
}

/** Expiries as epoch ms; `null` = never. Is `inner` no later than `outer`? */
export function expiryInside(inner: number | null, outer: number | null): boolean {
  return outer === null || (inner !== null && inner <= outer);
}

export function accessOf(perms: readonly string[]): 'read' | 'write' {
  return perms.some((p) => !p.startsWith('read:')) ? 'write' : 'read';
}

export function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const x = new Set(a);
  const y = new Set(b);
  return x.size === y.size && [...x].every((v) => y.has(v));
}

export const fmtScope = (s: Scope, names?: Record<string, string>) =>
  s === null ? 'all' : `{${s.map((p) => names?.[p] ?? p.slice(0, 8)).join(',')}}`;

/** What the store holds about a token, read straight from the database (an observer, not an actor). */
export interface StoredRights {
  id: string;
  kind: string;
  permissions: string[];
  scope: Scope;
  project: string | null;
  expiresAt: number | null;
  singleUse: boolean;
  /** Application scopes, as stored. */
  appScopes: string[];
  revoked: boolean;
  name: string | null;
}

export async function storedRights(t: Pick<TestApp, 'app'>, ids: string[]): Promise<Map<string, StoredRights>> {
  const rows = await t.app.get(DatabaseService).prisma.apiToken.findMany({ where: { id: { in: ids } } });
  return new Map(
    rows.map((r) => [
      r.id,
      {
        id: r.id,
        kind: r.kind,
        permissions: r.permissions,
        scope: r.kind === 'project' ? [r.projectId!] : r.scopeProjects.length ? r.scopeProjects : null,
        project: r.projectId,
        expiresAt: r.expiresAt ? r.expiresAt.getTime() : null,
        singleUse: r.removeOnUse,
        appScopes: r.scopes,
        revoked: r.revokedAt !== null,
        name: r.name,
      },
    ]),
  );
}

/** A tokens file with the given entries, in a fresh private directory; returns its path. */
export function writeTokensFile(entries: Record<string, { token: string; projects?: string[]; access?: string }>) {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-authz-'));
  const file = join(dir, 'tokens.json');
  writeFileSync(file, JSON.stringify({ tokens: entries }, null, 2), { mode: 0o600 });
  return file;
}
