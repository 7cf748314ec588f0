/**
 * Model-based test of the authorization policy. fast-check generates sequences of actions (create a token
 * through each API style, list, get, PATCH, rotate, revoke, delete, verify, project routes) by random
 * callers on random targets, all made with random rights (permission subsets, scopes, expiries,
 * single-use). Each action goes over HTTP to the real app; an oracle written here (test/support/authz.ts,
 * not the service's policy module) predicts allow/deny and the rights of whatever is created or changed.
 * After every action the stored rights of every token of the run are compared with the model, so a
 * refused action that changed something, or a revocation that did not reach a descendant, fails too.
 *
 * Runs: KEYWARD_AUTHZ_RUNS (fast-check runs; default 40 on PostgreSQL, 10 on PGlite), at most
 * KEYWARD_AUTHZ_COMMANDS actions each (default 15) after 3-5 tokens made by the admin or file token. KEYWARD_AUTHZ_SEED replays a reported seed;
 * KEYWARD_AUTHZ_SURVEY=1 lists the first disagreement of every run instead of shrinking the first one.
 */
import fc from 'fast-check';
import { writeFileSync } from 'node:fs';
import { DatabaseService } from '../../src/database/database.service.js';
import { TokensFileService } from '../../src/verification/tokens-file/tokens-file.service.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, client, type Client, type Res, startApp, type TestApp } from '../support/app.js';
import {
  accessOf,
  covers,
  expiryInside,
  fmtScope,
  grants,
  inScope,
  type Perm,
  PERMISSIONS,
  READ_RIGHTS,
  sameSet,
  type Scope,
  scopeInside,
  storedRights,
  WRITE_RIGHTS,
  writeTokensFile,
} from '../support/authz.js';
import { TEST_DB_MODE } from '../support/db.js';
import { unique } from '../support/projects.js';

const RUNS = Number(process.env.KEYWARD_AUTHZ_RUNS ?? (TEST_DB_MODE === 'pglite' ? 10 : 40));
const MAX_COMMANDS = Number(process.env.KEYWARD_AUTHZ_COMMANDS ?? 15);
/** Concurrent pairs per run, in waves of WAVE (the argon2 queue of one process is bounded). */
const CREATE_PAIRS = Number(process.env.KEYWARD_AUTHZ_CREATE_PAIRS ?? (TEST_DB_MODE === 'pglite' ? 16 : 48));
const WAVE = 8;
/** use ∥ disable pairs: TREES parent-child trees, USE_PER_WAVE rounds per wave of create pairs. */
const TREES = 8;
const USE_PER_WAVE = 4;
const USE_PAIRS = (CREATE_PAIRS / WAVE) * USE_PER_WAVE * TREES;
const SEED = process.env.KEYWARD_AUTHZ_SEED ? Number(process.env.KEYWARD_AUTHZ_SEED) : undefined;
/** Survey mode (a debugging aid): each run stops at its first disagreement, all runs go on, a summary is printed. */
const SURVEY = process.env.KEYWARD_AUTHZ_SURVEY === '1';

const FILE_SECRET = 'authz-model-file-token-confined-to-p1-0123456789';
const P_NAMES = ['authz-p1', 'authz-p2', 'authz-p3'];
const HOUR = 3_600_000;

let t: TestApp;
let api: Client;
const P: string[] = [];
const projectName: Record<string, string> = {};
/** Every token ever created in this file (all runs): id → scope, for "nothing invisible is listed". */
const registry = new Map<string, { scope: Scope; kind: string }>();
let checkedActions = 0;
/** How often each predicted outcome was seen: the evidence that the runs reach every rule. */
const coverage = new Map<string, number>();
const surveyed: string[] = [];

// ---------------------------------------------------------------------------------------------------
// The model

interface MTok {
  label: string;
  /** Database id; null for the configured credentials (admin, tokens file). */
  id: string | null;
  secret: string;
  kind: 'global' | 'project' | 'admin' | 'file';
  project: string | null;
  name: string | null;
  perms: Perm[];
  scope: Scope;
  /** Application scopes it holds itself (`*` every scope, `x:*` every scope under `x:`). */
  appScopes: string[];
  expiresAt: number | null;
  singleUse: boolean;
  /** Single-use consumption: certainly not, certainly, or perhaps (refused after authentication). */
  use: 'fresh' | 'spent' | 'unknown';
  revoked: boolean;
  /** Off (Publisher disable): it and everything below it is refused until enabled again. */
  enabled: boolean;
  parent: MTok | null;
  /** A previous secret in its rotation grace: the token it shadows, and the secret generation it belongs to. */
  shadowOf?: MTok;
  graceUntil?: number;
  generation: number;
}

/** The tokens-file entry as the file says now (reloaded by the tokens-file action). */
const fileState = { enabled: true, access: 'write' as 'read' | 'write' };
/** Renamed projects (a rename is for good: the tokens-file entry never reaches them by name again). */
const renamed = new Set<string>();

interface Eff {
  perms: Perm[];
  scope: Scope;
  appScopes: string[];
  expiresAt: number | null;
  /** Why the credential is refused now because of itself or an ancestor, null when it is not. */
  ended: 'REVOKED' | 'DISABLED' | 'EXPIRED' | null;
}

function intersectPerms(a: readonly Perm[], b: readonly Perm[]): Perm[] {
  return PERMISSIONS.filter((p) => (a.includes(p) && grants(b, p)) || (b.includes(p) && grants(a, p)));
}
const intersectScope = (a: Scope, b: Scope): Scope =>
  a === null ? b : b === null ? a : a.filter((p) => b.includes(p));

/**
 * Application scopes, the model's own statement: a held scope stands for itself, `*` for every scope,
 * `x:*` for every scope that starts with `x:`. A token holds what it and every ancestor hold.
 */
const APP_SCOPES = ['docs:create-project', 'docs:delete', 'docs:*', 'plan:pro', '*'];
const scopeCovers = (held: string, want: string) =>
  held === '*' || held === want || (held.endsWith(':*') && want.startsWith(held.slice(0, -1)));
const holdsScopes = (held: readonly string[], wanted: readonly string[]) =>
  wanted.every((w) => held.some((h) => scopeCovers(h, w)));
const intersectAppScopes = (a: readonly string[], b: readonly string[]): string[] =>
  [...new Set([...a.filter((x) => holdsScopes(b, [x])), ...b.filter((y) => holdsScopes(a, [y]))])].sort();
/** The tokens-file entry has no flags set: it may upload to a new project, nothing else (docs scopes). */
const FILE_APP_SCOPES = ['docs:create-project'];

/**
 * Effective rights through the token tree: a token's own rights intersected with every ancestor's current
 * ones (the tokens-file entry and the admin are roots), ended by a revoked, disabled or expired ancestor.
 * A previous secret in its grace has its token's effective rights, expiring with the grace.
 */
function eff(x: MTok): Eff {
  if (x.shadowOf) {
    const e = eff(x.shadowOf);
    const expiresAt = e.expiresAt === null ? x.graceUntil! : Math.min(e.expiresAt, x.graceUntil!);
    const superseded = x.generation !== x.shadowOf.generation;
    return { ...e, expiresAt, ended: e.ended ?? (superseded ? 'REVOKED' : null) };
  }
  if (x.kind === 'admin')
    return { perms: [...WRITE_RIGHTS], scope: null, appScopes: ['*'], expiresAt: null, ended: null };
  if (x.kind === 'file') {
    return {
      perms: fileState.access === 'write' ? [...WRITE_RIGHTS] : [...READ_RIGHTS],
      scope: renamed.has(P[0]) ? [] : [P[0]],
      appScopes: FILE_APP_SCOPES,
      expiresAt: null,
      ended: fileState.enabled ? null : 'DISABLED',
    };
  }
  const up = eff(x.parent!);
  const ended = x.revoked ? 'REVOKED' : !x.enabled ? 'DISABLED' : null;
  const rank = { REVOKED: 3, DISABLED: 2, EXPIRED: 1 };
  const worst = [ended, up.ended]
    .filter((e): e is Eff['ended'] & string => e !== null)
    .sort((a, b) => rank[b] - rank[a]);
  const exp = [x.expiresAt, up.expiresAt].filter((v): v is number => v !== null);
  return {
    perms: intersectPerms(x.perms, up.perms),
    scope: intersectScope(x.scope, up.scope),
    appScopes: intersectAppScopes(x.appScopes, up.appScopes),
    expiresAt: exp.length ? Math.min(...exp) : null,
    ended: worst[0] ?? null,
  };
}

interface Model {
  roots: MTok[];
  toks: MTok[];
  /** Previous secrets in their rotation grace (callers only). */
  shadows: MTok[];
  log: string[];
  n: number;
}

function freshModel(): Model {
  const admin: MTok = {
    label: 'admin',
    id: null,
    secret: ADMIN_TOKEN,
    kind: 'admin',
    project: null,
    name: null,
    perms: [...WRITE_RIGHTS],
    scope: null,
    appScopes: ['*'],
    expiresAt: null,
    singleUse: false,
    use: 'fresh',
    revoked: false,
    enabled: true,
    parent: null,
    generation: 0,
  };
  const file: MTok = {
    ...admin,
    label: 'file(p1)',
    secret: FILE_SECRET,
    kind: 'file',
    scope: [P[0]],
    appScopes: FILE_APP_SCOPES,
  };
  return { roots: [admin, file], toks: [], shadows: [], log: [], n: 0 };
}

const alive = (x: MTok) => {
  const e = eff(x);
  return (
    e.ended === null && !(x.singleUse && x.use === 'spent') && !(e.expiresAt !== null && e.expiresAt <= Date.now())
  );
};

function describeTok(x: MTok): string {
  const bits = [
    x.kind === 'project' ? `project token of ${projectName[x.project!]}` : x.kind,
    `[${x.perms.join(' ')}]`,
    `scope ${fmtScope(x.scope, projectName)}`,
    x.appScopes.length ? `app scopes {${x.appScopes.join(' ')}}` : '',
    x.expiresAt ? `exp +${Math.round((x.expiresAt - Date.now()) / 60_000)}min` : 'no expiry',
    x.singleUse ? `single-use(${x.use})` : '',
    x.revoked ? 'REVOKED' : '',
    x.enabled ? '' : 'DISABLED',
    x.parent ? `parent ${x.parent.label}` : '',
    x.shadowOf ? `previous secret of ${x.shadowOf.label} in its grace` : '',
  ];
  return `${x.label}: ${bits.filter(Boolean).join(', ')}`;
}

/**
 * The caller numbered `i`: one of the configured credentials for one number in five, otherwise a token
 * of the run (not one perhaps consumed), so that most actions come from tokens with partial rights.
 */
function callerOf(m: Model, i: number): MTok {
  const toks = m.toks.filter((x) => x.use !== 'unknown');
  if (i % 5 === 0 || !toks.length) return m.roots[Math.floor(i / 5) % m.roots.length];
  if (i % 7 === 3 && m.shadows.length) return m.shadows[i % m.shadows.length];
  return toks[i % toks.length];
}
const pick = <T>(list: T[], i: number): T | undefined => (list.length ? list[i % list.length] : undefined);

function revokeTree(m: Model, x: MTok): number {
  let n = 0;
  if (!x.revoked) {
    x.revoked = true;
    n++;
  }
  for (const c of m.toks) if (c.parent === x) n += revokeTree(m, c);
  return n;
}

// ---------------------------------------------------------------------------------------------------
// Outcomes: the oracle returns every acceptable answer; the first whose status matches is applied.

interface Outcome {
  status: number[];
  why: string;
  then?: (res: Res) => Promise<void> | void;
}

class Disagreement extends Error {}

function fail(m: Model, what: string, detail: string): never {
  const story = [...m.log, ...m.roots, ...m.toks].map((l) => (typeof l === 'string' ? l : describeTok(l)));
  throw new Disagreement(`${what}\n${detail}\n--- run so far ---\n${story.join('\n')}`);
}

async function perform(
  m: Model,
  caller: MTok,
  title: string,
  request: () => Promise<Res>,
  oracle: () => Outcome[],
): Promise<void> {
  const outcomes: Outcome[] = alive(caller)
    ? oracle()
    : [{ status: [401], why: `${caller.label} is revoked, used or expired` }];
  const wasFresh = caller.singleUse && caller.use === 'fresh' && alive(caller);
  const res = await request();
  const line = `${title} → ${res.status}`;
  m.log.push(line);
  checkedActions++;
  if (wasFresh) caller.use = res.status < 300 ? 'spent' : 'unknown';
  const match = outcomes.find((o) => o.status.includes(res.status));
  const covered = `${res.status} ${match?.why.replace(/\bt\d+\b/g, 'x').replace(/\[[^\]]*\]/g, '[…]')}`;
  if (match) coverage.set(covered, (coverage.get(covered) ?? 0) + 1);
  if (!match) {
    fail(
      m,
      `DISAGREEMENT: ${line}`,
      `expected ${outcomes.map((o) => `${o.status.join('|')} (${o.why})`).join(' or ')}\nbody: ${res.text.slice(0, 400)}`,
    );
  }
  await match.then?.(res);
  await checkStore(m);
}

/** The stored rights of every token of the run equal the model's. */
async function checkStore(m: Model): Promise<void> {
  const toks = m.toks.filter((x) => x.id);
  const stored = await storedRights(
    t,
    toks.map((x) => x.id!),
  );
  for (const x of toks) {
    const s = stored.get(x.id!);
    const problem = !s
      ? 'is gone from the store'
      : s.revoked !== x.revoked
        ? `revoked=${s.revoked}, model says ${x.revoked}`
        : !sameSet(s.permissions, x.perms)
          ? `permissions [${s.permissions.join(' ')}], model says [${x.perms.join(' ')}]`
          : s.permissions.length === 0
            ? 'has an empty stored permission list'
            : !sameScope(s.scope, x.scope)
              ? `scope ${fmtScope(s.scope, projectName)}, model says ${fmtScope(x.scope, projectName)}`
              : s.expiresAt !== x.expiresAt
                ? `expires ${s.expiresAt}, model says ${x.expiresAt}`
                : s.singleUse !== x.singleUse
                  ? `single-use=${s.singleUse}, model says ${x.singleUse}`
                  : x.name !== null && !x.revoked && s.name !== x.name
                    ? `name ${s.name}, model says ${x.name}`
                    : null;
    if (problem) fail(m, `STORE DIFFERS after: ${m.log[m.log.length - 1]}`, `${x.label} ${problem}`);
  }
}

const sameScope = (a: Scope, b: Scope) => (a === null || b === null ? a === b : sameSet(a, b));

/** Reads back a token the service just created, checks it lies inside its creator, adds it to the model. */
async function adopt(
  m: Model,
  creator: MTok,
  id: string,
  secret: string,
  want: {
    perms: Perm[];
    scope: Scope;
    appScopes: string[];
    singleUse: boolean | 'either';
    requestedExpiry: number | null;
  },
): Promise<MTok> {
  const s = (await storedRights(t, [id])).get(id);
  if (!s) fail(m, `created token ${id} is not in the store`, '');
  const label = `t${++m.n}`;
  const problems: string[] = [];
  if (!sameSet(s.permissions, want.perms)) problems.push(`permissions [${s.permissions}] ≠ [${want.perms}]`);
  if (!sameScope(s.scope, want.scope))
    problems.push(`scope ${fmtScope(s.scope, projectName)} ≠ ${fmtScope(want.scope, projectName)}`);
  if (!covers(eff(creator).perms, s.permissions)) problems.push('holds a permission its creator lacks');
  if (!sameSet(s.appScopes, want.appScopes)) problems.push(`app scopes [${s.appScopes}] ≠ [${want.appScopes}]`);
  if (!holdsScopes(eff(creator).appScopes, s.appScopes)) problems.push('holds an app scope its creator lacks');
  if (!scopeInside(s.scope, eff(creator).scope)) problems.push('scope outside its creator');
  if (!expiryInside(s.expiresAt, eff(creator).expiresAt)) problems.push('outlives its creator');
  const cap = [want.requestedExpiry, eff(creator).expiresAt].filter((v): v is number => v !== null);
  const expected = cap.length ? Math.min(...cap) : null;
  if (expected === null ? s.expiresAt !== null : s.expiresAt === null || Math.abs(s.expiresAt - expected) > 5000)
    problems.push(`expires ${s.expiresAt}, expected about ${expected}`);
  if (want.singleUse !== 'either' && s.singleUse !== want.singleUse) problems.push(`single-use=${s.singleUse}`);
  if (creator.singleUse && !s.singleUse) problems.push('a single-use creator made a reusable token');
  if (problems.length) fail(m, `CREATED TOKEN WRONG: ${m.log[m.log.length - 1]}`, problems.join('; '));
  const x: MTok = {
    label,
    id,
    secret,
    kind: s.kind as 'global' | 'project',
    project: s.kind === 'project' ? s.project : null,
    name: s.name,
    perms: s.permissions as Perm[],
    scope: s.scope,
    appScopes: s.appScopes,
    expiresAt: s.expiresAt,
    singleUse: s.singleUse,
    use: 'fresh',
    revoked: false,
    enabled: true,
    // The tree is by token id: what a previous secret creates hangs under its token.
    parent: creator.shadowOf ?? creator,
    generation: 0,
  };
  m.toks.push(x);
  registry.set(id, { scope: s.scope, kind: s.kind });
  m.log.push(`  created ${describeTok(x)}`);
  return x;
}

/** A single-use creator may only make single-use tokens, or be refused. */
function singleUseRule(creator: MTok, singleUseAsked: boolean | undefined): { refuse: boolean; either: boolean } {
  if (!creator.singleUse) return { refuse: false, either: false };
  return singleUseAsked === true ? { refuse: false, either: false } : { refuse: true, either: true };
}

// ---------------------------------------------------------------------------------------------------
// Commands

type Cmd = fc.AsyncCommand<Model, object>;

/** Random permission sets; two in three hold some token permissions, where most rules apply. */
const permSet = fc.oneof(
  { arbitrary: fc.subarray([...PERMISSIONS], { minLength: 1, maxLength: 5 }), weight: 1 },
  {
    arbitrary: fc
      .tuple(
        fc.subarray([...PERMISSIONS], { maxLength: 3 }),
        fc.subarray<Perm>(['create:token', 'read:token', 'update:token', 'delete:token'], { minLength: 1 }),
      )
      .map(([a, b]) => [...new Set([...a, ...b])]),
    weight: 2,
  },
);
const projSet = fc.subarray([0, 1, 2], { minLength: 1 });

interface CreateArgs {
  style: 'publisher' | 'publisher-alias' | 'auth' | 'project';
  creator: number;
  access: 'read' | 'write';
  perms: Perm[] | undefined;
  projects: number[] | undefined;
  project: number;
  hours: number;
  expires: boolean;
  singleUse: boolean;
  accessOnly: boolean;
  /** Application scopes asked for (none when undefined). */
  appScopes: string[] | undefined;
}

class CreateCmd implements Cmd {
  constructor(readonly a: CreateArgs) {}
  check = () => true;
  async run(m: Model): Promise<void> {
    const a = this.a;
    const creator = callerOf(m, a.creator);
    const now = Date.now();
    if (a.style === 'project') {
      const project = P[a.project];
      const perms = a.perms ?? ['read:token'];
      const name = unique('mt');
      const title = `${creator.label} POST /v1/projects/${P_NAMES[a.project]}/tokens [${perms.join(' ')}]`;
      return perform(
        m,
        creator,
        title,
        () =>
          api.post(
            `/v1/projects/${project}/tokens`,
            { name, permissions: perms, ...(a.appScopes ? { scopes: a.appScopes } : {}) },
            { token: creator.secret },
          ),
        () => {
          if (!grants(eff(creator).perms, 'create:token')) return [{ status: [403], why: 'lacks create:token' }];
          if (!inScope(eff(creator).scope, project)) return [{ status: [404], why: 'project outside the caller' }];
          const su = singleUseRule(creator, undefined);
          const made: Outcome = {
            status: [201],
            why: 'inside the caller',
            then: async (res) => {
              const x = await adopt(m, creator, res.body.id, res.body.token, {
                perms,
                scope: [project],
                appScopes: a.appScopes ?? [],
                singleUse: su.either ? 'either' : false,
                requestedExpiry: null,
              });
              x.name = name;
              if (!sameSet(res.body.permissions, perms)) fail(m, 'answer permissions differ', res.text);
            },
          };
          if (!covers(eff(creator).perms, perms)) return [{ status: [403], why: 'asks for a permission it lacks' }];
          if (!holdsScopes(eff(creator).appScopes, a.appScopes ?? []))
            return [{ status: [403], why: 'asks for an app scope it lacks' }];
          if (su.refuse) return [{ status: [403], why: 'single-use caller' }, made];
          return [made];
        },
      );
    }
    if (a.style === 'auth') {
      const projects = a.projects?.map((i) => P[i]);
      const body: Record<string, unknown> = { ttl: `${a.hours}h`, remove_on_use: a.singleUse };
      if (a.accessOnly) body.access = a.access;
      else if (a.perms) body.permissions = a.perms;
      if (projects) body.projects = projects;
      if (a.appScopes) body.scopes = a.appScopes;
      const title = `${creator.label} POST /auth/tokens ${JSON.stringify({ ...body, projects: a.projects?.map((i) => P_NAMES[i]) })}`;
      return perform(
        m,
        creator,
        title,
        () => api.post('/auth/tokens', body, { token: creator.secret }),
        () => {
          if (!grants(eff(creator).perms, 'create:token')) return [{ status: [403], why: 'lacks create:token' }];
          const perms = a.accessOnly
            ? a.access === 'read'
              ? READ_RIGHTS
              : WRITE_RIGHTS
            : (a.perms ?? eff(creator).perms);
          const scope = projects ?? eff(creator).scope;
          const su = singleUseRule(creator, a.singleUse);
          const denials: string[] = [];
          if (!covers(eff(creator).perms, perms)) denials.push('asks for a permission it lacks');
          if (!scopeInside(scope, eff(creator).scope)) denials.push('asks for projects outside its scope');
          if (scope !== null && scope.length === 0) denials.push('a caller confined to no project grants nothing');
          if (!holdsScopes(eff(creator).appScopes, a.appScopes ?? [])) denials.push('asks for an app scope it lacks');
          if (denials.length) return [{ status: [403], why: denials.join(', ') }];
          const made: Outcome = {
            status: [201],
            why: 'inside the caller',
            then: async (res) => {
              await adopt(m, creator, res.body.id, res.body.token, {
                perms,
                scope,
                appScopes: a.appScopes ?? [],
                singleUse: su.either ? 'either' : a.singleUse,
                requestedExpiry: now + a.hours * HOUR,
              });
            },
          };
          if (su.refuse) return [{ status: [403], why: 'single-use caller asks for a reusable token' }, made];
          return [made];
        },
      );
    }
    const base = a.style === 'publisher' ? '/publisher.v1/api-token' : '/api-token';
    const requested = a.expires ? now + a.hours * HOUR : null;
    const body: Record<string, unknown> = { access: a.access };
    if (requested) body.expires_at = new Date(requested).toISOString();
    if (a.appScopes) body.scopes = a.appScopes;
    return perform(
      m,
      creator,
      `${creator.label} POST ${base}/create {access: ${a.access}${a.expires ? `, +${a.hours}h` : ''}}`,
      () => api.post(`${base}/create`, body, { token: creator.secret }),
      () => {
        if (!grants(eff(creator).perms, 'create:token')) return [{ status: [403], why: 'lacks create:token' }];
        const perms = a.access === 'read' ? READ_RIGHTS : WRITE_RIGHTS;
        if (!covers(eff(creator).perms, perms)) return [{ status: [403], why: `cannot grant access ${a.access}` }];
        const confined = eff(creator).scope;
        if (confined !== null && confined.length === 0)
          return [{ status: [403], why: 'a caller confined to no project grants nothing' }];
        if (!holdsScopes(eff(creator).appScopes, a.appScopes ?? []))
          return [{ status: [403], why: 'asks for an app scope it lacks' }];
        const su = singleUseRule(creator, undefined);
        const made: Outcome = {
          status: [200],
          why: 'inside the caller',
          then: async (res) => {
            if (res.body.access !== a.access) fail(m, 'answer access differs', res.text);
            await adopt(m, creator, res.body.id, res.body.token, {
              perms,
              scope: eff(creator).scope,
              appScopes: a.appScopes ?? [],
              singleUse: su.either ? 'either' : false,
              requestedExpiry: requested,
            });
          },
        };
        if (su.refuse) return [{ status: [403], why: 'single-use caller' }, made];
        return [made];
      },
    );
  }
  toString() {
    const a = this.a;
    const what =
      a.style === 'project'
        ? `project ${P_NAMES[a.project]} perms ${a.perms ?? '[read:token]'}`
        : a.style === 'auth'
          ? `${a.accessOnly ? `access ${a.access}` : `perms ${a.perms ?? '(default)'}`} projects ${a.projects?.map((i) => P_NAMES[i]) ?? '(default)'} ttl ${a.hours}h${a.singleUse ? ' single-use' : ''}`
          : `access ${a.access}${a.expires ? ` +${a.hours}h` : ''}`;
    return `create(${a.style}) by #${a.creator}: ${what}${a.appScopes ? ` scopes {${a.appScopes.join(' ')}}` : ''}`;
  }
}

/** Commands on one target: a caller and a token of the run. */
abstract class TargetCmd implements Cmd {
  constructor(
    readonly caller: number,
    readonly target: number,
  ) {}
  abstract targets(m: Model): MTok[];
  check = (m: Readonly<Model>) => this.targets(m as Model).length > 0;
  abstract act(m: Model, caller: MTok, target: MTok): Promise<void>;
  run(m: Model): Promise<void> {
    const caller = callerOf(m, this.caller);
    const targets = this.targets(m);
    // Acting on oneself proves little: take the next token when there is one.
    let target = pick(targets, this.target)!;
    if (target === caller && targets.length > 1) target = pick(targets, this.target + 1)!;
    return this.act(m, caller, target);
  }
}

const projectToks = (m: Model) => m.toks.filter((x) => x.kind === 'project');
const globalToks = (m: Model) => m.toks.filter((x) => x.kind === 'global');

/** 404 for a target the caller may not see (or that the route cannot address); null when it may. */
function notVisible(caller: MTok, target: MTok): Outcome[] | null {
  return scopeInside(target.scope, eff(caller).scope) ? null : [{ status: [404], why: 'target not visible' }];
}

/** A previous secret in its grace may not manage its own token. */
function shadowSelf(caller: MTok, target: MTok): Outcome[] | null {
  return caller.shadowOf === target ? [{ status: [403], why: 'a secret in its grace manages its own token' }] : null;
}

/** The checks shared by change, rotate, revoke, delete: the target holds nothing the caller lacks. */
function strongerTarget(caller: MTok, target: MTok): string | null {
  if (!covers(eff(caller).perms, target.perms)) return `target holds [${target.perms}] beyond the caller`;
  if (!holdsScopes(eff(caller).appScopes, target.appScopes))
    return `target holds app scopes {${target.appScopes.join(' ')}} beyond the caller`;
  return null;
}

class GetCmd extends TargetCmd {
  constructor(
    caller: number,
    target: number,
    readonly inProject: number | null,
  ) {
    super(caller, target);
  }
  override targets = projectToks;
  act(m: Model, caller: MTok, target: MTok) {
    const project = this.inProject === null ? null : P[this.inProject];
    const path = project ? `/v1/projects/${project}/tokens/${target.id}` : `/v1/project_tokens/${target.id}`;
    return perform(
      m,
      caller,
      `${caller.label} GET ${project ? `/v1/projects/${projectName[project]}/tokens/` : '/v1/project_tokens/'}${target.label}`,
      () => api.get(path, { token: caller.secret }),
      () => {
        if (!grants(eff(caller).perms, 'read:token')) return [{ status: [403], why: 'lacks read:token' }];
        if (project && !inScope(eff(caller).scope, project))
          return [{ status: [404], why: 'project outside the caller' }];
        if (project && target.project !== project) return [{ status: [404], why: 'token of another project' }];
        if (target.revoked) return [{ status: [404], why: 'revoked' }];
        return (
          notVisible(caller, target) ?? [
            {
              status: [200],
              why: 'visible',
              then: (res) => {
                if (res.body.id !== target.id || !sameSet(res.body.permissions, target.perms))
                  fail(m, 'GET answer differs from the model', res.text);
              },
            },
          ]
        );
      },
    );
  }
  override toString() {
    return `get #${this.target} by #${this.caller}${this.inProject === null ? '' : ` in ${P_NAMES[this.inProject]}`}`;
  }
}

class PatchCmd extends TargetCmd {
  constructor(
    caller: number,
    target: number,
    readonly perms: Perm[] | undefined,
    readonly inProject: number | null,
  ) {
    super(caller, target);
  }
  override targets = projectToks;
  act(m: Model, caller: MTok, target: MTok) {
    const project = this.inProject === null ? null : P[this.inProject];
    const path = project ? `/v1/projects/${project}/tokens/${target.id}` : `/v1/project_tokens/${target.id}`;
    const name = unique('patched');
    const body = this.perms ? { name, permissions: this.perms } : { name };
    return perform(
      m,
      caller,
      `${caller.label} PATCH ${project ? `/v1/projects/${projectName[project]}/tokens/` : '/v1/project_tokens/'}${target.label} ${this.perms ? `[${this.perms.join(' ')}]` : '(rename)'}`,
      () => api.patch(path, body, { token: caller.secret }),
      () => {
        if (!grants(eff(caller).perms, 'update:token')) return [{ status: [403], why: 'lacks update:token' }];
        if (project && !inScope(eff(caller).scope, project))
          return [{ status: [404], why: 'project outside the caller' }];
        if (project && target.project !== project) return [{ status: [404], why: 'token of another project' }];
        if (target.revoked) return [{ status: [404], why: 'revoked' }];
        const hidden = notVisible(caller, target);
        if (hidden) return hidden;
        // The changed token must end inside the caller: no permission it lacks, no later expiry, and a
        // single-use caller cannot leave a reusable token behind its change.
        const denials = [
          strongerTarget(caller, target),
          this.perms && !covers(eff(caller).perms, this.perms) ? 'asks for a permission it lacks' : null,
          !expiryInside(target.expiresAt, eff(caller).expiresAt) ? 'target outlives the caller' : null,
          caller.singleUse && !target.singleUse ? 'a single-use caller changing a reusable token' : null,
        ].filter(Boolean);
        if (denials.length) return [{ status: [403], why: denials.join(', ') }];
        const self = shadowSelf(caller, target);
        if (self) return self;
        const apply = () => {
          if (this.perms) target.perms = [...new Set(this.perms)];
          target.name = name;
        };
        return [{ status: [204], why: 'inside the caller', then: apply }];
      },
    );
  }
  override toString() {
    return `patch #${this.target} by #${this.caller} ${this.perms ? `[${this.perms}]` : 'rename'}${this.inProject === null ? '' : ` in ${P_NAMES[this.inProject]}`}`;
  }
}

class RotateCmd extends TargetCmd {
  constructor(
    caller: number,
    target: number,
    readonly style: 'v1' | 'v1-grace' | 'publisher' | 'publisher-alias',
  ) {
    super(caller, target);
  }
  override targets = (m: Model) => (this.style.startsWith('v1') ? m.toks : globalToks(m));
  act(m: Model, caller: MTok, target: MTok) {
    const request =
      this.style === 'v1' || this.style === 'v1-grace'
        ? () =>
            api.post(`/v1/tokens/${target.id}/rotate`, this.style === 'v1' ? {} : { grace: '1m' }, {
              token: caller.secret,
            })
        : () =>
            api.post(
              `${this.style === 'publisher' ? '/publisher.v1' : ''}/api-token/rotate`,
              { id: target.id },
              { token: caller.secret },
            );
    return perform(m, caller, `${caller.label} rotate(${this.style}) ${target.label}`, request, () => {
      if (!grants(eff(caller).perms, 'update:token')) return [{ status: [403], why: 'lacks update:token' }];
      const hidden = notVisible(caller, target);
      if (hidden) return hidden;
      const forbidden: string[] = [];
      const conflicts: string[] = [];
      const stronger = strongerTarget(caller, target);
      if (stronger) forbidden.push(stronger);
      if (!expiryInside(target.expiresAt, eff(caller).expiresAt)) forbidden.push('target outlives the caller');
      if (caller.singleUse && !target.singleUse) forbidden.push('a single-use caller would get a reusable secret');
      if (target.revoked) conflicts.push('revoked');
      if (target.singleUse) conflicts.push('single-use tokens are not rotated');
      if (caller.shadowOf === target) forbidden.push('a secret in its grace manages its own token');
      // When both kinds of refusal apply, either may come first.
      const out: Outcome[] = [];
      if (forbidden.length) out.push({ status: [403], why: forbidden.join(', ') });
      if (conflicts.length) out.push({ status: [409], why: conflicts.join(', ') });
      if (out.length) return out;
      return [
        {
          status: [200],
          why: 'inside the caller',
          then: (res) => {
            if (res.body.id !== target.id || typeof res.body.token !== 'string')
              fail(m, 'rotate answer is not the same token with a new secret', res.text);
            const previous = target.secret;
            target.secret = res.body.token;
            target.generation++;
            if (this.style === 'v1-grace' && res.body.previous_expires_at) {
              m.shadows.push({
                ...target,
                label: `${target.label}'`,
                secret: previous,
                shadowOf: target,
                graceUntil: Date.parse(res.body.previous_expires_at),
                generation: target.generation,
              });
            }
          },
        },
      ];
    });
  }
  override toString() {
    return `rotate(${this.style}) #${this.target} by #${this.caller}`;
  }
}

class RevokeCmd extends TargetCmd {
  constructor(
    caller: number,
    target: number,
    readonly style: 'publisher' | 'publisher-alias' | 'delete' | 'delete-in-project',
  ) {
    super(caller, target);
  }
  override targets = (m: Model) => (this.style.startsWith('delete') ? projectToks(m) : globalToks(m));
  act(m: Model, caller: MTok, target: MTok) {
    const del = this.style.startsWith('delete');
    const request = del
      ? () =>
          api.delete(
            this.style === 'delete'
              ? `/v1/project_tokens/${target.id}`
              : `/v1/projects/${target.project}/tokens/${target.id}`,
            { token: caller.secret },
          )
      : () =>
          api.post(
            `${this.style === 'publisher' ? '/publisher.v1' : ''}/api-token/revoke`,
            { id: target.id },
            { token: caller.secret },
          );
    return perform(m, caller, `${caller.label} ${this.style} ${target.label}`, request, () => {
      if (!grants(eff(caller).perms, 'delete:token')) return [{ status: [403], why: 'lacks delete:token' }];
      if (this.style === 'delete-in-project' && !inScope(eff(caller).scope, target.project!))
        return [{ status: [404], why: 'project outside the caller' }];
      const hidden = notVisible(caller, target);
      if (hidden) return hidden;
      const stronger = strongerTarget(caller, target);
      if (target.revoked) {
        // Already revoked: nothing may change whatever the answer.
        return [
          {
            status: del ? (stronger ? [403] : [204]) : [200, 404, 409, ...(stronger ? [403] : [])],
            why: 'already revoked',
          },
        ];
      }
      if (stronger) return [{ status: [403], why: stronger }];
      const self = shadowSelf(caller, target);
      if (self) return self;
      return [
        {
          status: [del ? 204 : 200],
          why: 'visible and no stronger than the caller',
          then: (res) => {
            const n = revokeTree(m, target);
            m.log.push(`  revoked ${n} token(s) (the target and its descendants)`);
            // The answer says how many were revoked besides the target (a header for the 204 of DELETE).
            const said = del ? Number(res.headers.get('x-revoked-descendants')) : res.body?.revoked_descendants;
            if (said !== n - 1) fail(m, `the answer says ${said} descendants revoked, the model ${n - 1}`, res.text);
          },
        },
      ];
    });
  }
  override toString() {
    return `${this.style} #${this.target} by #${this.caller}`;
  }
}

class VerifyCmd extends TargetCmd {
  constructor(
    caller: number,
    target: number,
    /** Application scopes the verify asks for (all required); none when undefined. */
    readonly scopes?: string[],
  ) {
    super(caller, target);
  }
  override targets = (m: Model) => m.toks;
  act(m: Model, caller: MTok, target: MTok) {
    const asked = this.scopes ? ` scopes {${this.scopes.join(' ')}}` : '';
    return perform(
      m,
      caller,
      `${caller.label} verify ${target.label}${asked}`,
      () =>
        api.post(
          '/v1/tokens/verify',
          { token: target.secret, ...(this.scopes ? { scopes: this.scopes } : {}) },
          { token: caller.secret },
        ),
      () => {
        if (!grants(eff(caller).perms, 'read:token')) return [{ status: [403], why: 'lacks read:token' }];
        const code = (want: string[], why: string): Outcome => ({
          status: [200],
          why,
          then: (res) => {
            if (!want.includes(res.body?.code))
              fail(m, `verdict ${res.body?.code}, expected ${want.join('|')}`, res.text);
            if (res.body.code === 'VALID') {
              const e = eff(target);
              if (!sameSet(res.body.token.permissions, e.perms) || res.body.token.access !== accessOf(e.perms))
                fail(m, `verify reports other rights than the model's effective [${e.perms.join(' ')}]`, res.text);
              if (!sameSet(res.body.token.scopes, e.appScopes))
                fail(m, `verify reports other app scopes than the model's effective [${e.appScopes}]`, res.text);
              if (target.singleUse) target.use = 'spent';
            }
          },
        });
        if (!scopeInside(target.scope, eff(caller).scope)) return [code(['NOT_FOUND'], 'target not visible')];
        if (target.revoked) return [code(['REVOKED'], 'revoked')];
        const ended = eff(target).ended;
        if (ended) return [code([ended], `${ended.toLowerCase()} through an ancestor`)];
        // A single-use token verifying itself was consumed by authenticating the call.
        if (target === caller && target.singleUse) return [code(['USED'], 'consumed by this very call')];
        if (target.singleUse && target.use === 'spent') return [code(['USED'], 'used')];
        // Scopes are checked on a live token: FORBIDDEN consumes nothing.
        const held = holdsScopes(eff(target).appScopes, this.scopes ?? []);
        if (target.singleUse && target.use === 'unknown')
          return [code(['USED', held ? 'VALID' : 'FORBIDDEN'], 'perhaps used')];
        if (!held) return [code(['FORBIDDEN'], 'lacks an app scope asked for')];
        return [code(['VALID'], 'alive')];
      },
    );
  }
  override toString() {
    return `verify #${this.target} by #${this.caller}${this.scopes ? ` scopes {${this.scopes.join(' ')}}` : ''}`;
  }
}

class ListCmd implements Cmd {
  constructor(
    readonly caller: number,
    readonly style: 'publisher' | 'project',
    readonly project: number,
  ) {}
  check = () => true;
  run(m: Model) {
    const caller = callerOf(m, this.caller);
    const project = P[this.project];
    const request =
      this.style === 'publisher'
        ? () => api.post('/publisher.v1/api-token/list', { pagination: { limit: 1000 } }, { token: caller.secret })
        : () => api.get(`/v1/projects/${project}/tokens`, { token: caller.secret });
    const title = `${caller.label} list(${this.style}${this.style === 'project' ? ` ${P_NAMES[this.project]}` : ''})`;
    return perform(m, caller, title, request, () => {
      if (!grants(eff(caller).perms, 'read:token')) return [{ status: [403], why: 'lacks read:token' }];
      if (this.style === 'project' && !inScope(eff(caller).scope, project))
        return [{ status: [404], why: 'project outside the caller' }];
      return [
        {
          status: [200],
          why: 'lists what the caller sees',
          then: (res) => {
            const items: Array<{ id: string; access?: string; permissions?: string[] }> =
              this.style === 'publisher' ? res.body.data : res.body;
            const ids = new Set(items.map((i) => i.id));
            for (const i of items) {
              const r = registry.get(i.id);
              if (r && !scopeInside(r.scope, eff(caller).scope))
                fail(m, `listed ${i.id} (scope ${fmtScope(r.scope, projectName)}) which the caller may not see`, '');
              const x = m.toks.find((y) => y.id === i.id);
              if (x && this.style === 'publisher' && i.access !== accessOf(x.perms))
                fail(m, `${x.label} listed with access ${i.access}, its permissions say ${accessOf(x.perms)}`, '');
              if (x && this.style === 'project' && !sameSet(i.permissions!, x.perms))
                fail(m, `${x.label} listed with permissions [${i.permissions}]`, '');
            }
            const due =
              this.style === 'publisher'
                ? m.toks.filter((x) => x.kind === 'global' && scopeInside(x.scope, eff(caller).scope))
                : m.toks.filter((x) => x.kind === 'project' && x.project === project && !x.revoked);
            const missing = due.filter((x) => !ids.has(x.id!));
            if (missing.length) fail(m, `list misses ${missing.map((x) => x.label).join(', ')}`, '');
            if (this.style === 'project') {
              const dead = m.toks.filter((x) => x.revoked && ids.has(x.id!));
              if (dead.length) fail(m, `list shows revoked ${dead.map((x) => x.label).join(', ')}`, '');
            }
          },
        },
      ];
    });
  }
  toString() {
    return `list(${this.style}${this.style === 'project' ? ` ${P_NAMES[this.project]}` : ''}) by #${this.caller}`;
  }
}

class ProjectCmd implements Cmd {
  constructor(
    readonly caller: number,
    readonly action: 'create' | 'get' | 'list',
    readonly project: number,
  ) {}
  check = () => true;
  run(m: Model) {
    const caller = callerOf(m, this.caller);
    const project = P[this.project];
    const name = unique('mp');
    const request =
      this.action === 'create'
        ? () => api.post('/v1/projects', { name }, { token: caller.secret })
        : this.action === 'get'
          ? () => api.get(`/v1/projects/${project}`, { token: caller.secret })
          : () => api.get('/v1/projects?limit=1000', { token: caller.secret });
    return perform(m, caller, `${caller.label} ${this.toString()}`, request, () => {
      if (this.action === 'create') {
        if (!grants(eff(caller).perms, 'create:project')) return [{ status: [403], why: 'lacks create:project' }];
        if (eff(caller).scope !== null) return [{ status: [403], why: 'a scoped caller cannot create projects' }];
        return [{ status: [201], why: 'unscoped with create:project' }];
      }
      if (!grants(eff(caller).perms, 'read:project')) return [{ status: [403], why: 'lacks read:project' }];
      if (this.action === 'get')
        return inScope(eff(caller).scope, project)
          ? [{ status: [200], why: 'in scope' }]
          : [{ status: [404], why: 'project outside the caller' }];
      return [
        {
          status: [200],
          why: 'lists the projects in scope',
          then: (res) => {
            const ids = (res.body as Array<{ id: string }>).map((p) => p.id);
            if (ids.some((id) => !inScope(eff(caller).scope, id))) fail(m, 'project list leaks a project', res.text);
            if (P.some((p) => inScope(eff(caller).scope, p) && !ids.includes(p)))
              fail(m, 'project list misses a project in scope', res.text);
          },
        },
      ];
    });
  }
  toString() {
    return `project ${this.action}${this.action === 'get' ? ` ${P_NAMES[this.project]}` : ''} by #${this.caller}`;
  }
}

/** Publisher-style disable / enable: it and everything below it is refused until enabled again. */
class SwitchCmd extends TargetCmd {
  constructor(
    caller: number,
    target: number,
    readonly enable: boolean,
  ) {
    super(caller, target);
  }
  override targets = globalToks;
  act(m: Model, caller: MTok, target: MTok) {
    const verb = this.enable ? 'enable' : 'disable';
    return perform(
      m,
      caller,
      `${caller.label} ${verb} ${target.label}`,
      () => api.post(`/api-token/${verb}`, { id: target.id }, { token: caller.secret }),
      () => {
        if (!grants(eff(caller).perms, 'update:token')) return [{ status: [403], why: 'lacks update:token' }];
        const hidden = notVisible(caller, target);
        if (hidden) return hidden;
        const denials = [strongerTarget(caller, target)];
        if (this.enable) {
          denials.push(
            !expiryInside(target.expiresAt, eff(caller).expiresAt) ? 'target outlives the caller' : null,
            caller.singleUse && !target.singleUse ? 'a single-use caller enabling a reusable token' : null,
          );
        }
        const why = denials.filter(Boolean).join(', ');
        if (why) return [{ status: [403], why }];
        const self = shadowSelf(caller, target);
        if (self) return self;
        if (target.revoked) return [{ status: [409], why: 'revoked' }];
        return [
          {
            status: [200],
            why: `${verb}s a visible token no stronger than the caller`,
            then: () => {
              target.enabled = this.enable;
            },
          },
        ];
      },
    );
  }
  override toString() {
    return `${this.enable ? 'enable' : 'disable'} #${this.target} by #${this.caller}`;
  }
}

/**
 * Renames a project, sometimes to the name the tokens-file entry is confined to (after the project
 * bearing it was renamed away): the entry must never reach a renamed project.
 */
class RenameCmd implements Cmd {
  constructor(
    readonly caller: number,
    readonly project: number,
    readonly toFileName: boolean,
  ) {}
  check = () => true;
  run(m: Model) {
    const caller = callerOf(m, this.caller);
    const project = P[this.project];
    const name = this.toFileName ? P_NAMES[0] : unique('renamed');
    return perform(
      m,
      caller,
      `${caller.label} rename ${projectName[project]} to ${name}`,
      () => api.patch(`/v1/projects/${project}`, { name }, { token: caller.secret }),
      () => {
        if (!grants(eff(caller).perms, 'update:project')) return [{ status: [403], why: 'lacks update:project' }];
        if (!inScope(eff(caller).scope, project)) return [{ status: [404], why: 'project outside the caller' }];
        if (projectName[project] === name) return [{ status: [204], why: 'same name: nothing changes' }];
        if (eff(caller).scope !== null) return [{ status: [403], why: 'a confined caller cannot rename projects' }];
        if (Object.values(projectName).includes(name)) return [{ status: [409], why: 'name taken' }];
        return [
          {
            status: [204],
            why: 'an unconfined caller renames',
            then: () => {
              projectName[project] = name;
              renamed.add(project);
            },
          },
        ];
      },
    );
  }
  toString() {
    return `rename ${P_NAMES[this.project]}${this.toFileName ? ' to the file entry name' : ''} by #${this.caller}`;
  }
}

/** Rewrites the tokens file (the entry enabled or not, write or read) and reloads it. */
class FileReloadCmd implements Cmd {
  constructor(
    readonly enabled: boolean,
    readonly access: 'read' | 'write',
  ) {}
  check = () => true;
  async run(m: Model) {
    await setFileState(this.enabled, this.access);
    m.log.push(`tokens file reloaded: entry ${this.enabled ? 'enabled' : 'disabled'}, access ${this.access}`);
    await checkStore(m);
  }
  toString() {
    return `reload tokens file (${this.enabled ? 'enabled' : 'disabled'}, ${this.access})`;
  }
}

let tokensFile = '';
async function setFileState(enabled: boolean, access: 'read' | 'write'): Promise<void> {
  if (fileState.enabled === enabled && fileState.access === access) return;
  writeFileSync(
    tokensFile,
    JSON.stringify({ tokens: { confined: { token: FILE_SECRET, projects: [P_NAMES[0]], enabled, access } } }),
    { mode: 0o600 },
  );
  await t.app.get(TokensFileService).reload();
  fileState.enabled = enabled;
  fileState.access = access;
}

// ---------------------------------------------------------------------------------------------------
// Arbitraries

const who = fc.nat({ max: 59 });
/** The first project more often, so that scopes overlap. */
const projectIdx = fc.constantFrom(0, 0, 0, 1, 2);

const createFields = (creator: fc.Arbitrary<number>) =>
  fc.record({
    style: fc.constantFrom('publisher', 'publisher-alias', 'auth', 'auth', 'project', 'project'),
    creator,
    access: fc.constantFrom('read', 'write'),
    perms: fc.option(permSet, { nil: undefined, freq: 4 }),
    projects: fc.option(projSet, { nil: undefined, freq: 2 }),
    project: projectIdx,
    hours: fc.integer({ min: 1, max: 48 }),
    expires: fc.boolean(),
    singleUse: fc
      .boolean()
      .chain((b) => (b ? fc.boolean() : fc.constant(false)))
      .chain((b) => (b ? fc.boolean() : fc.constant(false))),
    accessOnly: fc.boolean(),
    appScopes: fc.option(fc.subarray(APP_SCOPES, { minLength: 1, maxLength: 2 }), { nil: undefined, freq: 2 }),
  });
const createArb = createFields(who).map((a) => new CreateCmd(a as CreateArgs));
/** Every run starts with a few tokens made by the configured credentials (admin, tokens file). */
const rootCreations = fc.array(
  createFields(fc.constantFrom(0, 0, 5)).map((a) => new CreateCmd(a as CreateArgs)),
  { minLength: 3, maxLength: 5 },
);

const patchArb = fc
  .tuple(who, who, fc.option(permSet, { nil: undefined, freq: 4 }), fc.option(projectIdx, { nil: null }))
  .map(([c, x, perms, p]) => new PatchCmd(c, x, perms, p));
const rotateArb = fc
  .tuple(who, who, fc.constantFrom('v1', 'v1-grace', 'v1-grace', 'publisher', 'publisher-alias'))
  .map(([c, x, s]) => new RotateCmd(c, x, s as 'v1'));
const revokeArb = fc
  .tuple(who, who, fc.constantFrom('publisher', 'publisher-alias', 'delete', 'delete-in-project'))
  .map(([c, x, s]) => new RevokeCmd(c, x, s as 'publisher'));

/** Repeated entries weigh more: the actions on other tokens are where the rules bite. */
const commandArbs: Array<fc.Arbitrary<Cmd>> = [
  createArb,
  createArb,
  fc.tuple(who, who, fc.option(projectIdx, { nil: null })).map(([c, x, p]) => new GetCmd(c, x, p)),
  patchArb,
  patchArb,
  rotateArb,
  rotateArb,
  revokeArb,
  revokeArb,
  fc
    .tuple(who, who, fc.option(fc.subarray(APP_SCOPES, { minLength: 1, maxLength: 2 }), { nil: undefined }))
    .map(([c, x, scopes]) => new VerifyCmd(c, x, scopes)),
  fc
    .tuple(who, fc.constantFrom('publisher', 'project'), projectIdx)
    .map(([c, s, p]) => new ListCmd(c, s as 'publisher', p)),
  fc
    .tuple(who, fc.constantFrom('create', 'get', 'list'), projectIdx)
    .map(([c, a, p]) => new ProjectCmd(c, a as 'create', p)),
  fc.tuple(who, who, fc.boolean()).map(([c, x, e]) => new SwitchCmd(c, x, e)),
  fc.tuple(who, who, fc.boolean()).map(([c, x, e]) => new SwitchCmd(c, x, e)),
  fc.tuple(who, fc.constantFrom(1, 2, 2, 1, 0), fc.boolean()).map(([c, p, toFile]) => new RenameCmd(c, p, toFile)),
  fc.tuple(fc.boolean(), fc.constantFrom<'read' | 'write'>('read', 'write')).map(([e, a]) => new FileReloadCmd(e, a)),
];

// ---------------------------------------------------------------------------------------------------

beforeAll(async () => {
  tokensFile = writeTokensFile({ confined: { token: FILE_SECRET, projects: [P_NAMES[0]] } });
  t = await startApp({ KEYWARD_TOKENS_FILE: tokensFile });
  api = client(t.url);
  for (const name of P_NAMES) {
    const res = await api.post('/v1/projects', { name });
    expect(res.status, res.text).toBe(201);
    P.push(res.body.id);
    projectName[res.body.id] = name;
  }
});
afterAll(async () => t?.close());

describe('authorization model', () => {
  it(
    `random callers and actions agree with the oracle (${RUNS} runs of up to ${MAX_COMMANDS} actions)`,
    { timeout: 900_000 },
    async () => {
      await fc.assert(
        fc.asyncProperty(
          rootCreations,
          fc.commands(commandArbs, { maxCommands: MAX_COMMANDS, size: 'max' }),
          async (first, cmds) => {
            try {
              const setup = async () => {
                await setFileState(true, 'write');
                const model = freshModel();
                for (const c of first) await c.run(model);
                return { model, real: {} };
              };
              await fc.asyncModelRun(setup, cmds);
            } catch (e) {
              if (!SURVEY || !(e instanceof Disagreement)) throw e;
              surveyed.push(e.message);
            }
          },
        ),
        // Shrinking replays actions over HTTP: bounded, so a failure is reported within the test's time.
        { numRuns: RUNS, seed: SEED, interruptAfterTimeLimit: 600_000 },
      );
      console.log(`authz model: ${checkedActions} actions checked against the oracle in ${RUNS} runs`);
      console.log(
        [...coverage]
          .sort((a, b) => b[1] - a[1])
          .map(([why, n]) => `${String(n).padStart(5)}  ${why}`)
          .join('\n'),
      );
      if (SURVEY) {
        const heads = new Map<string, number>();
        for (const msg of surveyed) {
          const [head, detail] = msg.split('\n');
          const key = `${head.replace(/t\d+/g, 'tN').replace(/#\d+/g, '#')} | ${detail?.slice(0, 160)}`;
          heads.set(key, (heads.get(key) ?? 0) + 1);
        }
        console.log([...heads].map(([k, n]) => `${n}× ${k}`).join('\n'));
        for (const msg of surveyed.slice(0, 3)) console.log(`---\n${msg}`);
        expect(surveyed, 'disagreements').toEqual([]);
      }
      // The runs reach the rules that matter: with the default runs on PostgreSQL, targets out of sight
      // come up dozens of times, and refusals for asking beyond the caller about ten times (each alone
      // is too rare to require without making the test flaky).
      if (RUNS >= 40) {
        const seen = (...parts: string[]) =>
          [...coverage].filter(([why]) => parts.some((p) => why.includes(p))).reduce((n, [, k]) => n + k, 0);
        expect(seen('not visible'), 'no action met a target out of sight').toBeGreaterThan(0);
        expect(
          seen('beyond the caller', 'a permission it lacks', 'outlives the caller'),
          'no action asked for more than its caller holds',
        ).toBeGreaterThan(0);
      }
      // The few hundred checked actions the issue asks for, with the default runs on PostgreSQL.
      expect(checkedActions).toBeGreaterThan(RUNS);
    },
  );
});

/**
 * Concurrent pairs, run for real (PostgreSQL serves them on separate connections; PGlite one at a
 * time): create-child ∥ revoke-parent and use ∥ disable, in waves. The oracle: whatever order the
 * database chose, no live token ends up under a revoked ancestor, a child created in the race is
 * revoked with its parent, and after the pair the verdicts are those of effective rights through the
 * tree (a disabled token and everything below it DISABLED, a revoked tree REVOKED).
 */
describe('concurrent pairs', () => {
  it(
    `concurrent pairs agree with the oracle (${CREATE_PAIRS} create-child ∥ revoke-parent, ${USE_PAIRS} use ∥ disable)`,
    { timeout: 1_800_000 },
    async () => {
      const verdict = async (token: string) => (await api.post('/v1/tokens/verify', { token })).body?.code;
      const publisherToken = async (access: 'read' | 'write', token?: string) => {
        const res = await api.post('/api-token/create', { access }, token ? { token } : {});
        expect(res.status, res.text).toBe(200);
        return res.body as { id: string; token: string };
      };
      let pairs = 0;
      const trees = await Promise.all(
        Array.from({ length: TREES }, async () => {
          const parent = await publisherToken('write');
          const child = await publisherToken('read', parent.token);
          return { parent, child };
        }),
      );
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.record({ style: fc.constantFrom('publisher', 'project'), under: fc.boolean() }), {
            minLength: WAVE,
            maxLength: WAVE,
          }),
          async (wave) => {
            // create-child ∥ revoke-parent; with `under`, the parent hangs under a grandparent that is revoked instead.
            const setups = await Promise.all(
              wave.map(async ({ style, under }) => {
                const top = under ? await publisherToken('write') : null;
                const parent =
                  style === 'publisher'
                    ? await publisherToken('write', top?.token)
                    : await api
                        .post(
                          `/v1/projects/${P[1]}/tokens`,
                          { name: unique('cp'), permissions: [] },
                          top ? { token: top.token } : {},
                        )
                        .then((r) => (expect(r.status, r.text).toBe(201), r.body as { id: string; token: string }));
                expect(await verdict(parent.token)).toBe('VALID'); // cached: the create races without argon2 first
                return { style, top, parent };
              }),
            );
            const results = await Promise.all(
              setups.map(({ style, top, parent }) => {
                const create =
                  style === 'publisher'
                    ? api.post('/api-token/create', { access: 'read' }, { token: parent.token })
                    : api.post(
                        `/v1/projects/${P[1]}/tokens`,
                        { name: unique('cc'), permissions: ['read:token'] },
                        { token: parent.token },
                      );
                const victim = top ?? parent;
                const revoke = api
                  .post('/api-token/revoke', { id: victim.id })
                  .then(async (r) => (r.status === 200 ? r : api.delete(`/v1/project_tokens/${victim.id}`)));
                return Promise.all([create, revoke]);
              }),
            );
            for (const [made, gone] of results) {
              expect([200, 204], gone.text).toContain(gone.status);
              expect([200, 201, 401], made.text).toContain(made.status);
              if (made.status < 300) expect(await verdict(made.body.token)).toBe('REVOKED');
              pairs++;
            }
            for (const { parent } of setups) expect(await verdict(parent.token)).toBe('REVOKED');

            // use ∥ disable on the same few trees, switched back on after each pair (each pair then costs one
            // argon2 verification, for the DISABLED verdict after it).
            for (let k = 0; k < USE_PER_WAVE; k++) {
              const used = await Promise.all(
                trees.flatMap(({ parent, child }) => [
                  api.post('/api-token/list', { pagination: { limit: 1 } }, { token: child.token }),
                  api.post('/api-token/disable', { id: parent.id }),
                ]),
              );
              for (let i = 0; i < used.length; i += 2) {
                expect([200, 401], used[i].text).toContain(used[i].status);
                expect(used[i + 1].status, used[i + 1].text).toBe(200);
                pairs++;
              }
              for (const { child } of trees) expect(await verdict(child.token)).toBe('DISABLED');
              for (const { parent } of trees)
                expect((await api.post('/api-token/enable', { id: parent.id })).status).toBe(200);
            }
            const escaped = await t.app.get(DatabaseService).sql.query(
              `SELECT c.id FROM api_tokens c JOIN api_tokens p ON p.id::text = c.created_by_id
                  WHERE c.revoked_at IS NULL AND p.revoked_at IS NOT NULL`,
            );
            expect(escaped, 'live tokens under a revoked parent').toEqual([]);
          },
        ),
        { numRuns: Math.ceil(CREATE_PAIRS / WAVE), seed: SEED },
      );
      for (const { child } of trees) expect(await verdict(child.token)).toBe('VALID');
      console.log(`authz model: ${pairs} concurrent pairs checked`);
      expect(pairs).toBeGreaterThanOrEqual(CREATE_PAIRS + USE_PAIRS);
    },
  );
});
