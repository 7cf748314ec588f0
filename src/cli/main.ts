#!/usr/bin/env node
import 'reflect-metadata';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, Option } from 'commander';
import { VERSION } from '../common/version.js';
import { ConfigError, loadConfig, type AppConfig } from '../config/config.schema.js';
import { AUDIT_ACTIONS } from '../audit/audit.actions.js';
import * as auditCommands from './audit-commands.js';
import * as master from './master-token.js';
import * as projects from './project-commands.js';
import { CliError, consoleOutput, type Output } from './output.js';
import * as tokens from './token-commands.js';
import * as webhooks from './webhook-commands.js';
import { WEBHOOK_EVENTS } from '../webhooks/webhook-events.js';

/**
 * `keyward`: the operator CLI. `token create|list|revoke|rotate` work on the configured database
 * (DATABASE_URL, or the embedded one in KEYWARD_DATA_DIR, which they refuse to open while the service
 * holds it); `token what|reset|set` work on the master token of a tokens file.
 */

/** Where a CLI run reads and writes: the process's own streams in the bin, buffers in tests. */
export interface CliIo {
  /** The environment the configuration is read from (the same variables as the service). */
  env: Record<string, string | undefined>;
  /** Results (stdout) and hints (stderr). */
  out: Output;
  /** Standard input: the token for `token verify`, the answer to `token set`'s prompt. */
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  /** Raw standard error (usage errors, `keyward: ...` lines). */
  stderr(text: string): void;
}

/** What every command group needs: the streams, the exit code, the output and the configuration. */
interface CommandContext {
  io: CliIo;
  exit: { code: number };
  out: Output;
  config: () => AppConfig;
}

function program(io: CliIo, exit: { code: number }): Command {
  const ctx: CommandContext = { io, exit, out: io.out, config: () => loadConfig(io.env) };
  const root = new Command('keyward')
    .description('Keyward operator CLI (configuration comes from the same environment variables as the service)')
    .version(VERSION, '-V, --version', 'print the version and exit')
    .configureOutput({ writeOut: (text) => io.out.write(text), writeErr: (text) => io.stderr(text) })
    .showHelpAfterError()
    .exitOverride();

  tokenCommands(root, ctx);
  adminCommands(root, ctx);
  projectCommands(root, ctx);
  auditCommand(root, ctx);
  webhookCommands(root, ctx);
  return root;
}

/** `keyward token …`: tokens in the database, then the tokens-file master token. */
function tokenCommands(root: Command, { io, exit, out, config }: CommandContext): void {
  const token = root.command('token').description('manage API tokens and the tokens-file master token');

  token
    .command('create')
    .description('create a token in the database and print its secret (shown once)')
    .addOption(
      new Option('--access <level>', 'read: query and list; write: everything')
        .choices(['read', 'write'])
        .makeOptionMandatory(),
    )
    .option('--description <text>', 'what the token is for')
    .option('--expires-at <time>', 'RFC 3339 expiry, e.g. 2030-12-31T23:59:59Z')
    .option('--ttl <duration>', 'expire after this long, e.g. 15m, 1h, 7d')
    .option('--scope <scope>', 'an application scope, e.g. docs:delete (repeat for several)', collect, [])
    .option('--owner <id>', 'your id of the customer or service the token belongs to')
    .option('--meta <json>', 'your metadata: a JSON object of at most 4 KB')
    .option('--remaining <n>', 'usage credits (each verification pass takes one)')
    .option('--json', 'print JSON')
    .action((opts: tokens.CreateOptions) => tokens.create(config(), opts, out));

  token
    .command('list')
    .description('list the tokens in the database (never their secrets)')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => tokens.list(config(), opts, out));

  token
    .command('revoke')
    .description('revoke a token, immediately and permanently')
    .argument('<id>', 'token id (see `keyward token list`)')
    .option('--json', 'print JSON')
    .action((id: string, opts: { json?: boolean }) => tokens.revoke(config(), id, opts, out));

  token
    .command('rotate')
    .description('give a token a new secret (same id); print it once')
    .argument('<id>', 'token id (see `keyward token list`)')
    .option('--grace <duration>', 'keep the old secret valid this long, e.g. 10m (default: it stops at once)')
    .option('--json', 'print JSON')
    .action((id: string, opts: { grace?: string; json?: boolean }) => tokens.rotate(config(), id, opts, out));

  token
    .command('verify')
    .description("check a token read from standard input, with the service's own verifier (exit 0 only if valid)")
    .option('--permission <permission>', 'the token must hold this permission, e.g. read:token')
    .option('--project <project>', 'the token must be allowed on this project (id or name)')
    .option('--consume', 'consume a single-use token (default: only look)')
    .option('--json', 'print JSON')
    .action(async (opts: tokens.VerifyOptions) => {
      const valid = await tokens.verify(config(), opts, await readAll(io.stdin), out);
      if (!valid) exit.code = 2;
    });
  masterTokenCommands(token, { io, out, config });
}

/** `keyward token what|reset|set`: the master token of a tokens file. */
function masterTokenCommands(token: Command, { io, out, config }: Omit<CommandContext, 'exit'>): void {
  const fileOption = () =>
    new Option(
      '--file <file>',
      'tokens file holding {"authorization": {"enabled", "token"}} (default: KEYWARD_TOKENS_FILE)',
    );
  const hashOnly = () => new Option('--hash-only', 'write only the argon2 hash of the token (and a stub) to the file');

  token
    .command('what')
    .description("show the tokens file's master token (or its stub when only a hash is kept)")
    .addOption(fileOption())
    .option('--json', 'print JSON')
    .action((opts: { file?: string; json?: boolean }) => {
      const c = config();
      master.what(master.tokensFilePath(opts.file, c), out, !!opts.json);
    });

  token
    .command('reset')
    .description('generate a new random master token, write it to the tokens file and print it once')
    .addOption(fileOption())
    .addOption(hashOnly())
    .option('--json', 'print JSON')
    .action((opts: { file?: string; hashOnly?: boolean; json?: boolean }) => {
      const c = config();
      return master.reset(master.tokensFilePath(opts.file, c), c, out, !!opts.hashOnly, !!opts.json);
    });

  token
    .command('set')
    .description('set the master token to one you type (or pipe) in')
    .addOption(fileOption())
    .addOption(hashOnly())
    .option('--json', 'print JSON')
    .action((opts: { file?: string; hashOnly?: boolean; json?: boolean }) => {
      const c = config();
      return master.set(master.tokensFilePath(opts.file, c), c, out, !!opts.hashOnly, !!opts.json, io.stdin);
    });
}

/** `keyward admin reset`. */
function adminCommands(root: Command, { out, config }: CommandContext): void {
  root
    .command('admin')
    .description('the admin token a first start creates (every permission, every project)')
    .command('reset')
    .description('give the admin token a new secret (or create one when there is none) and print it once')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => tokens.adminReset(config(), opts, out));
}

/** `keyward project …` and `keyward project token …`. */
function projectCommands(root: Command, { out, config }: CommandContext): void {
  const project = root.command('project').description('manage projects and their (Calyptia-style) project tokens');

  project
    .command('create')
    .description('create a project')
    .argument('<name>', 'unique project name')
    .option('--json', 'print JSON')
    .action((name: string, opts: { json?: boolean }) => projects.create(config(), name, opts, out));

  project
    .command('list')
    .description('list the projects, newest first')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => projects.list(config(), opts, out));

  project
    .command('delete')
    .description('delete a project and revoke its tokens')
    .argument('<project>', 'project id or name')
    .option('--json', 'print JSON')
    .action((ref: string, opts: { json?: boolean }) => projects.remove(config(), ref, opts, out));

  const projectToken = project.command('token').description("manage a project's tokens");

  projectToken
    .command('create')
    .description('create a token in a project and print its secret (shown once)')
    .argument('<project>', 'project id or name')
    .requiredOption('--name <name>', 'token name, unique within the project')
    .addOption(
      new Option('--permission <permission...>', 'what the token may do (repeatable)')
        .choices(projects.PROJECT_PERMISSIONS)
        .makeOptionMandatory(),
    )
    .option('--json', 'print JSON')
    .action((ref: string, opts: projects.CreateTokenOptions) => projects.createToken(config(), ref, opts, out));

  projectToken
    .command('list')
    .description("list a project's live tokens (never their secrets), with when each was last used")
    .argument('<project>', 'project id or name')
    .option('--json', 'print JSON')
    .action((ref: string, opts: { json?: boolean }) => projects.listTokens(config(), ref, opts, out));

  projectToken
    .command('revoke')
    .description('revoke a project token, immediately and permanently')
    .argument('<id>', 'token id (see `keyward project token list`)')
    .option('--json', 'print JSON')
    .action((id: string, opts: { json?: boolean }) => projects.revokeToken(config(), id, opts, out));
}

/** `keyward audit`. */
function auditCommand(root: Command, { out, config }: CommandContext): void {
  root
    .command('audit')
    .description('show the audit trail, newest first: who did what to which token or project, when, from where')
    .option('--token-id <id>', 'events by or about this token id (or admin, cli, file:<name>)')
    .addOption(new Option('--action <action>', 'only this action').choices(AUDIT_ACTIONS))
    .option('--since <time>', 'RFC 3339 time, or a duration back from now (1h, 7d)')
    .option('--limit <n>', 'at most this many events (default 100)')
    .option('--json', 'print JSON')
    .action((opts: auditCommands.AuditOptions) => auditCommands.audit(config(), opts, out));
}

/** `keyward webhook …`. */
function webhookCommands(root: Command, { out, config }: CommandContext): void {
  const webhook = root
    .command('webhook')
    .description('manage webhook endpoints (signed token events) and their delivery logs');

  webhook
    .command('create')
    .description('register an endpoint and print its signing secret (shown once)')
    .argument('<url>', 'http(s) URL the deliveries are POSTed to')
    .requiredOption(
      '--event <event>',
      `an event to deliver (repeat, or comma-separate): ${WEBHOOK_EVENTS.join(', ')}`,
      collect,
    )
    .option('--description <text>', 'what the endpoint is for')
    .option('--json', 'print JSON')
    .action((url: string, opts: webhooks.CreateWebhookOptions) => webhooks.create(config(), url, opts, out));

  webhook
    .command('list')
    .description('list the endpoints (never their secrets)')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => webhooks.list(config(), opts, out));

  webhook
    .command('delete')
    .description('delete an endpoint and its pending deliveries')
    .argument('<id>', 'webhook id (see `keyward webhook list`)')
    .option('--json', 'print JSON')
    .action((id: string, opts: { json?: boolean }) => webhooks.remove(config(), id, opts, out));

  webhook
    .command('rotate-secret')
    .description('give an endpoint a new signing secret; print it once')
    .argument('<id>', 'webhook id (see `keyward webhook list`)')
    .option('--grace <duration>', 'keep signing with the previous secret too this long, e.g. 1h (at most 7d)')
    .option('--json', 'print JSON')
    .action((id: string, opts: { grace?: string; json?: boolean }) => webhooks.rotate(config(), id, opts, out));

  webhook
    .command('deliveries')
    .description("show an endpoint's delivery log, newest first")
    .argument('<id>', 'webhook id (see `keyward webhook list`)')
    .option('--status <status>', 'only pending, succeeded or failed deliveries')
    .option('--limit <n>', 'at most this many (default 100, at most 1000)')
    .option('--json', 'print JSON')
    .action((id: string, opts: { status?: string; limit?: string; json?: boolean }) =>
      webhooks.deliveries(config(), id, opts, out),
    );
}

/** All of standard input (empty when it is a terminal: tokens are never typed in the clear here). */
async function readAll(stdin: CliIo['stdin']): Promise<string> {
  if (stdin.isTTY) return '';
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(Buffer.from(chunk as Buffer | string));
  return Buffer.concat(chunks).toString('utf8');
}

/** Runs one command line (the arguments after `keyward`); resolves to the exit code. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const exit = { code: 0 };
  try {
    await program(io, exit).parseAsync(argv, { from: 'user' });
    return exit.code;
  } catch (err) {
    const e = err as { code?: string; exitCode?: number };
    if (typeof e.code === 'string' && e.code.startsWith('commander.')) {
      // commander already printed help or the usage error.
      return e.exitCode ?? 1;
    }
    if (err instanceof CliError || err instanceof ConfigError) {
      io.stderr(`keyward: ${err.message}\n`);
      return 1;
    }
    io.stderr(`keyward: unexpected error: ${(err as Error)?.stack ?? String(err)}\n`);
    return 1;
  }
}

/** True when this module is the program node started (the bin), not a module a test imported. */
function isEntryPoint(): boolean {
  try {
    return !!process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  const io: CliIo = {
    env: process.env,
    out: consoleOutput,
    stdin: process.stdin,
    stderr: (text) => void process.stderr.write(text),
  };
  // Exit explicitly: the database drivers may keep timers alive after closing.
  runCli(process.argv.slice(2), io).then((code) => process.exit(code));
}

/** Commander's accumulator for a repeatable option. */
function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
