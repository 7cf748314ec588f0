import { z } from 'zod';
import type { TokenFlags } from '../../access/principal.js';
import type { Access } from '../../access/permissions.js';
import { MAX_PRESENTED_TOKEN_LENGTH } from '../token-codec.js';
import { PasswordHasher } from '../password-hasher.js';

/**
 * Operator-managed tokens files. Three layouts are read as-is, and may be combined in one file:
 *  - named tokens: `{"tokens": {name: {token, projects?, allow_overwrite?, allow_delete?, existing_projects_only?}}}`
 *  - API keys: `{"api_keys": [{key, name, enabled}]}`, also nested as `{"headless_cpms": {"api_keys": [...]}}`
 *  - master token: `{"authorization": {"enabled", "token"}}` (the master token, named `master`)
 * Instead of the secret an entry may carry its argon2 hash (`token_hash` / `key_hash`, or a `token` /
 * `key` whose value is itself `$argon2id$...`). Unknown keys are ignored outside the entries (these
 * files are often a larger config.json) and rejected inside them (a typo'd flag must not pass silently).
 */
export interface TokensFileEntry {
  name: string;
  /** Where in the file, for messages: `tokens["ci"]`, `api_keys[2]`, `authorization`. */
  where: string;
  secret?: string;
  hash?: string;
  /** With a hash: the non-secret start of the secret (`token_stub`/`key_stub` without the `…`). */
  stub?: string;
  enabled: boolean;
  access: Access;
  /** Project names the token is confined to; null = every project. */
  projects: string[] | null;
  flags: TokenFlags;
}

export class TokensFileError extends Error {
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`tokens file ${file}: ${problem}`);
  }
}

/** The name given to a master-token file's `authorization.token`. */
const MASTER_TOKEN_NAME = 'master';

const secretText = z
  .string({ error: 'must be a string' })
  .min(1, 'must not be empty')
  .max(MAX_PRESENTED_TOKEN_LENGTH, `must be at most ${MAX_PRESENTED_TOKEN_LENGTH} characters`)
  .regex(/^\S+$/, 'must not contain whitespace');

const hashText = z
  .string({ error: 'must be a string' })
  .refine((v) => PasswordHasher.isArgon2Hash(v), 'must be an argon2 hash ($argon2id$v=19$m=...,t=...,p=...$salt$hash)');

const flag = z.boolean({ error: 'must be true or false' }).optional();

const common = {
  enabled: flag,
  access: z.enum(['read', 'write'], { error: 'must be "read" or "write"' }).optional(),
  projects: z
    .array(z.string({ error: 'must be a string (a project name)' }).min(1, 'must not be empty'), {
      error: 'must be an array of strings',
    })
    .min(1, 'must not be empty (omit it for every project)')
    .nullable()
    .optional(),
  allow_overwrite: flag,
  allow_delete: flag,
  existing_projects_only: flag,
  description: z.string({ error: 'must be a string' }).optional(),
};

const tokenEntry = z.strictObject(
  {
    ...common,
    token: secretText.optional(),
    token_hash: hashText.optional(),
    token_stub: z.string({ error: 'must be a string' }).optional(),
  },
  { error: 'must be an object {token, projects, allow_overwrite, allow_delete, existing_projects_only}' },
);

const apiKeyEntry = z.strictObject(
  {
    ...common,
    name: z.string({ error: 'must be a string' }).min(1, 'must not be empty').optional(),
    key: secretText.optional(),
    key_hash: hashText.optional(),
    key_stub: z.string({ error: 'must be a string' }).optional(),
  },
  { error: 'must be an object {key, name, enabled}' },
);

const authorizationSection = z.looseObject(
  {
    enabled: flag,
    token: secretText.optional(),
    token_hash: hashText.optional(),
    token_stub: z.string({ error: 'must be a string' }).optional(),
  },
  { error: 'must be an object {enabled, token}' },
);

const fileSchema = z.looseObject({
  tokens: z.record(z.string(), tokenEntry, { error: 'must be an object of name: {token, ...}' }).optional(),
  api_keys: z.array(apiKeyEntry, { error: 'must be an array of {key, name, enabled}' }).optional(),
  headless_cpms: z
    .looseObject({ api_keys: z.array(apiKeyEntry, { error: 'must be an array of {key, name, enabled}' }).optional() })
    .optional(),
  authorization: authorizationSection.optional(),
});

/**
 * JSON.parse's message without the piece of the file V8 may quote (it could be a secret), with the
 * line and column when it gives a position.
 */
export function jsonSyntaxProblem(text: string, err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const at = /^(.*?) in JSON at position (\d+)/.exec(message);
  if (at) {
    const before = text.slice(0, Number(at[2]));
    const line = before.split('\n').length;
    const column = before.length - before.lastIndexOf('\n');
    return `not valid JSON (${at[1]} at line ${line}, column ${column})`;
  }
  return message.startsWith('Unexpected end')
    ? 'not valid JSON (it ends too early)'
    : 'not valid JSON (unexpected character)';
}

/** `tokens["ci"].projects`, `api_keys[0].key` from a zod path. */
function pathText(path: readonly PropertyKey[]): string {
  let out = '';
  path.forEach((p, i) => {
    if (typeof p === 'number') out += `[${p}]`;
    else if (i === 1 && path[0] === 'tokens') out += `[${JSON.stringify(String(p))}]`;
    else out += out ? `.${String(p)}` : String(p);
  });
  return out || 'the top level';
}

function issueText(issue: z.core.$ZodIssue): string {
  const where = pathText(issue.path);
  if (issue.code === 'unrecognized_keys') {
    return `${where}: unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  }
  return `${where} ${issue.message}`;
}

/** Secret (or hash) of one entry, checking it gives exactly one. */
function credentialOf(
  where: string,
  secretField: string,
  value: string | undefined,
  hashField: string,
  hash: string | undefined,
  problems: string[],
): { secret?: string; hash?: string } | null {
  if (value !== undefined && hash !== undefined) {
    problems.push(`${where} gives both ${secretField} and ${hashField}: keep one`);
    return null;
  }
  if (value !== undefined) {
    // A value that is itself an argon2 hash is taken as the hash (the file then holds no secret).
    return PasswordHasher.isArgon2Hash(value) ? { hash: value } : { secret: value };
  }
  if (hash !== undefined) return { hash };
  problems.push(`${where} has no ${secretField} (or ${hashField})`);
  return null;
}

type CommonFields = z.infer<z.ZodObject<typeof common>>;

/** `kw_ab12cd…` → `kw_ab12cd`: the start of the secret a stub shows (none when nothing is left). */
function stubPrefixOf(stub: string | undefined): string | undefined {
  const prefix = stub?.replace(/(…|\.\.\.)$/u, '');
  return prefix ? prefix : undefined;
}

function entryOf(
  name: string,
  where: string,
  fields: CommonFields,
  credential: { secret?: string; hash?: string },
  enabledDefault = true,
  stub?: string,
): TokensFileEntry {
  const stubPrefix = credential.hash !== undefined ? stubPrefixOf(stub) : undefined;
  return {
    name,
    where,
    ...credential,
    ...(stubPrefix !== undefined ? { stub: stubPrefix } : {}),
    enabled: fields.enabled ?? enabledDefault,
    access: fields.access ?? 'write',
    projects: fields.projects ?? null,
    flags: {
      allow_overwrite: fields.allow_overwrite ?? false,
      allow_delete: fields.allow_delete ?? false,
      existing_projects_only: fields.existing_projects_only ?? false,
    },
  };
}

/**
 * Parses a tokens file's text into entries, or throws a TokensFileError naming the file and every bad
 * entry. Messages never contain a secret.
 */
export function parseTokensFile(text: string, file: string): TokensFileEntry[] {
  const data = parseDocument(text, file);
  const problems: string[] = [];
  const entries = [...namedEntries(data, problems), ...apiKeyEntries(data, problems), ...masterEntry(data, problems)];
  problems.push(...duplicates(entries));
  if (problems.length) throw new TokensFileError(file, problems.join('; '));
  return entries;
}

type TokensFileDocument = z.infer<typeof fileSchema>;

/** The file's JSON checked against the schema, with at least one section. */
function parseDocument(text: string, file: string): TokensFileDocument {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new TokensFileError(file, jsonSyntaxProblem(text, err));
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new TokensFileError(file, 'must be a JSON object');
  }
  const parsed = fileSchema.safeParse(doc);
  if (!parsed.success) {
    throw new TokensFileError(file, parsed.error.issues.map(issueText).join('; '));
  }
  const data = parsed.data;
  if (!data.tokens && !data.api_keys && !data.headless_cpms?.api_keys && !data.authorization) {
    throw new TokensFileError(
      file,
      'has none of "tokens" (name: {token, ...}), "api_keys" (or "headless_cpms.api_keys") and "authorization" ({enabled, token})',
    );
  }
  return data;
}

/** The `tokens` section: name → {token, ...}. */
function namedEntries(data: TokensFileDocument, problems: string[]): TokensFileEntry[] {
  const entries: TokensFileEntry[] = [];
  for (const [name, e] of Object.entries(data.tokens ?? {})) {
    const where = `tokens[${JSON.stringify(name)}]`;
    if (!name.trim()) problems.push(`${where}: the name must not be empty`);
    const credential = credentialOf(where, 'token', e.token, 'token_hash', e.token_hash, problems);
    if (credential) entries.push(entryOf(name, where, e, credential, true, e.token_stub));
  }
  return entries;
}

/** The `api_keys` and `headless_cpms.api_keys` lists (an entry without a name is named by its place). */
function apiKeyEntries(data: TokensFileDocument, problems: string[]): TokensFileEntry[] {
  const entries: TokensFileEntry[] = [];
  const keyLists: [string, z.infer<typeof apiKeyEntry>[] | undefined][] = [
    ['api_keys', data.api_keys],
    ['headless_cpms.api_keys', data.headless_cpms?.api_keys],
  ];
  for (const [section, list] of keyLists) {
    (list ?? []).forEach((e, i) => {
      const where = `${section}[${i}]`;
      const credential = credentialOf(where, 'key', e.key, 'key_hash', e.key_hash, problems);
      if (credential) entries.push(entryOf(e.name ?? where, where, e, credential, true, e.key_stub));
    });
  }
  return entries;
}

/** The `authorization` section: the master token. */
function masterEntry(data: TokensFileDocument, problems: string[]): TokensFileEntry[] {
  const a = data.authorization;
  if (!a) return [];
  const credential = credentialOf('authorization', 'token', a.token, 'token_hash', a.token_hash, problems);
  if (!credential) return [];
  return [entryOf(MASTER_TOKEN_NAME, 'authorization', {}, credential, a.enabled ?? true, a.token_stub)];
}

/** Names must be unique over the whole file, and so must secrets. */
function duplicates(entries: readonly TokensFileEntry[]): string[] {
  const problems: string[] = [];
  const byName = new Map<string, string>();
  const bySecret = new Map<string, string>();
  for (const e of entries) {
    const other = byName.get(e.name);
    if (other) problems.push(`${e.where} has the same name "${e.name}" as ${other}: names must be unique`);
    else byName.set(e.name, e.where);
    if (e.secret !== undefined) {
      const same = bySecret.get(e.secret);
      if (same) problems.push(`${e.where} has the same secret as ${same}: every token must be different`);
      else bySecret.set(e.secret, e.where);
    }
  }
  return problems;
}
