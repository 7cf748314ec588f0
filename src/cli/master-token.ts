import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import type { AppConfig } from '../config/config.schema.js';
import { PasswordHasher } from '../verification/password-hasher.js';
import { MAX_PRESENTED_TOKEN_LENGTH, TokenCodec } from '../verification/token-codec.js';
import { jsonSyntaxProblem, parseTokensFile } from '../verification/tokens-file/tokens-file.parser.js';
import { CliError, type Output } from './output.js';

/**
 * The master-token commands `token what|reset|set`: the master token of a tokens file, `{"authorization": {"enabled",
 * "token"}}`. Other keys of the file are kept as they are; the file is replaced atomically (temporary
 * file + rename) with mode 0600. With `--hash-only` the file keeps only an argon2 hash and a stub.
 */
const MIN_MASTER_TOKEN_LENGTH = 20;

type Doc = Record<string, unknown>;
interface Authorization {
  enabled?: unknown;
  token?: unknown;
  token_hash?: unknown;
  token_stub?: unknown;
  [key: string]: unknown;
}

export function tokensFilePath(option: string | undefined, config: AppConfig): string {
  const path = option ?? config.KEYWARD_TOKENS_FILE;
  if (!path) throw new CliError('no tokens file: pass --file FILE or set KEYWARD_TOKENS_FILE');
  return resolve(path);
}

function readDoc(path: string, { mayBeMissing }: { mayBeMissing: boolean }): Doc {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && mayBeMissing) return {};
    if (code === 'ENOENT') throw new CliError(`tokens file ${path}: does not exist`);
    if (code === 'EISDIR') throw new CliError(`tokens file ${path}: is a directory, not a JSON file`);
    throw new CliError(`tokens file ${path}: cannot be read (${(err as Error).message})`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new CliError(`tokens file ${path}: ${jsonSyntaxProblem(text, err)}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new CliError(`tokens file ${path}: must be a JSON object`);
  }
  return doc as Doc;
}

function authorizationOf(doc: Doc): Authorization | null {
  const a = doc.authorization;
  return a && typeof a === 'object' && !Array.isArray(a) ? (a as Authorization) : null;
}

/** Writes `doc` so that readers see the old file or the new one, never half of one. */
function writeDocAtomically(path: string, doc: Doc): void {
  const text = JSON.stringify(doc, null, 2) + '\n';
  // Whatever else the file holds, the result must still load, or the service would refuse it.
  try {
    parseTokensFile(text, path);
  } catch (err) {
    throw new CliError(`refusing to write ${path}, it would not load: ${(err as Error).message}`);
  }
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new CliError(`cannot write ${path}: ${(err as Error).message}`);
  }
}

function stubOf(token: string, prefix: string): string {
  const head = token.startsWith(prefix) ? prefix.length : 0;
  return `${token.slice(0, head + 6)}…`;
}

/** Problems with an operator-chosen master token, or null. */
function masterTokenProblem(token: string, prefix: string): string | null {
  if (!token.startsWith(prefix)) return `the token must start with '${prefix}'`;
  if (token.length < MIN_MASTER_TOKEN_LENGTH)
    return `the token must be at least ${MIN_MASTER_TOKEN_LENGTH} characters long`;
  if (token.length > MAX_PRESENTED_TOKEN_LENGTH)
    return `the token must be at most ${MAX_PRESENTED_TOKEN_LENGTH} characters long`;
  if (/\s/.test(token)) return 'the token must not contain whitespace';
  // Such a string would be looked up in the database and never reach the tokens file.
  if (new TokenCodec(prefix).parse(token)) return 'the token has the shape of a database token: choose another one';
  return null;
}

export function what(path: string, out: Output, json = false): void {
  const a = authorizationOf(readDoc(path, { mayBeMissing: false }));
  if (!a || (a.token === undefined && a.token_hash === undefined)) {
    throw new CliError(
      `tokens file ${path} has no master token (authorization.token): create one with \`keyward token reset --file ${path}\``,
    );
  }
  const hashed = !(typeof a.token === 'string' && !PasswordHasher.isArgon2Hash(a.token));
  if (json) {
    const shown = hashed ? (typeof a.token_stub === 'string' ? a.token_stub : null) : a.token;
    const doc = {
      file: path,
      token: hashed ? null : shown,
      token_stub: hashed ? shown : null,
      hashed,
      enabled: a.enabled !== false,
    };
    return out.line(JSON.stringify(doc, null, 2));
  }
  if (!hashed) {
    out.line(`Current Token: ${a.token}`);
  } else {
    const stub = typeof a.token_stub === 'string' ? a.token_stub : '(no stub recorded)';
    out.line(`Current Token: ${stub}`);
    out.line('  (stored as an argon2 hash: the token itself cannot be shown; `keyward token reset` issues a new one)');
  }
  if (a.enabled === false) out.line('  (authorization.enabled is false: this token is refused)');
}

/** Writes the new master token; true when it replaced one. */
async function store(path: string, token: string, config: AppConfig, hashOnly: boolean): Promise<boolean> {
  const doc = readDoc(path, { mayBeMissing: true });
  const previous = authorizationOf(doc) ?? {};
  const replaced = previous.token !== undefined || previous.token_hash !== undefined;
  const { token: _t, token_hash: _h, token_stub: _s, ...rest } = previous;
  const authorization: Authorization = { ...rest, enabled: previous.enabled ?? true };
  if (hashOnly) {
    authorization.token_hash = await new PasswordHasher(config).hash(token);
    authorization.token_stub = stubOf(token, config.KEYWARD_TOKEN_PREFIX);
  } else {
    authorization.token = token;
  }
  writeDocAtomically(path, { ...doc, authorization });
  return replaced;
}

function reloadHint(path: string, out: Output, hashOnly: boolean): void {
  if (hashOnly) out.note(`${path} keeps only the token's hash: this is the only time the token is shown.`);
  out.note(`Wrote ${path} (mode 0600). A running Keyward picks the new token up on SIGHUP: kill -HUP <keyward pid>`);
}

export async function reset(
  path: string,
  config: AppConfig,
  out: Output,
  hashOnly: boolean,
  json = false,
): Promise<void> {
  // Hex after the prefix, like `openssl rand -hex 32`; never the shape of a database token.
  const token = `${config.KEYWARD_TOKEN_PREFIX}${randomBytes(32).toString('hex')}`;
  const replaced = await store(path, token, config, hashOnly);
  if (json) return out.line(JSON.stringify({ file: path, token, hash_only: hashOnly }, null, 2));
  out.line(replaced ? '✓ Token reset successfully!' : '✓ Token created');
  out.line(`New Token: ${token}`);
  if (replaced) {
    out.line('');
    out.line('⚠️  Warning: The old token is now invalid.');
    out.line('   Update your applications with the new token.');
  }
  reloadHint(path, out, hashOnly);
}

/**
 * The first line of stdin, after a prompt. On a terminal the typed characters are not echoed (readline
 * edits the line in raw mode and writes its echo to a muted stream); piped input is read as it is.
 */
async function promptLine(
  question: string,
  out: Output,
  input: NodeJS.ReadableStream & { isTTY?: boolean } = process.stdin,
): Promise<string | null> {
  if (input.isTTY) return readHidden(question, input, out);
  out.write(question);
  const rl = createInterface({ input, terminal: false });
  try {
    for await (const line of rl) return line.trim();
    return null;
  } finally {
    rl.close();
  }
}

/** A line typed on a terminal, never echoed; Ctrl-C cancels. Echo is off before the prompt shows. */
function readHidden(question: string, input: NodeJS.ReadableStream, out: Output): Promise<string | null> {
  const muted = new Writable({ write: (_chunk, _encoding, done) => done() });
  const rl = createInterface({ input, output: muted, terminal: true });
  out.write(question);
  return new Promise((resolve, reject) => {
    let answered = false;
    rl.on('line', (line) => {
      answered = true;
      rl.close();
      out.write('\n');
      resolve(line.trim());
    });
    rl.on('SIGINT', () => {
      answered = true;
      rl.close();
      out.write('\n');
      reject(new CliError('cancelled'));
    });
    rl.on('close', () => {
      if (!answered) resolve(null);
    });
  });
}

export async function set(
  path: string,
  config: AppConfig,
  out: Output,
  hashOnly: boolean,
  json = false,
  input: NodeJS.ReadableStream & { isTTY?: boolean } = process.stdin,
): Promise<void> {
  const prefix = config.KEYWARD_TOKEN_PREFIX;
  // With --json the prompt goes to stderr, so that stdout is only the JSON answer.
  const prompt: Output = json ? { line: out.note, write: (t) => out.note(t.replace(/\n$/, '')), note: out.note } : out;
  const token = await promptLine(
    `Enter new token (must start with '${prefix}' and be at least ${MIN_MASTER_TOKEN_LENGTH} characters):\n> `,
    prompt,
    input,
  );
  if (!input.isTTY && !json) out.write('\n');
  if (!token) throw new CliError('no token given');
  const problem = masterTokenProblem(token, prefix);
  if (problem) throw new CliError(problem);
  await store(path, token, config, hashOnly);
  if (json) return out.line(JSON.stringify({ file: path, token, hash_only: hashOnly }, null, 2));
  out.line('');
  out.line('✓ Token set successfully!');
  out.line(`New Token: ${token}`);
  reloadHint(path, out, hashOnly);
}
