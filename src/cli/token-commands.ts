import { type INestApplicationContext, Logger } from '@nestjs/common';
import { isScope, MAX_SCOPES, SCOPE_PATTERN_SOURCE } from '../access/app-scopes.js';
import { MAX_OWNER_LENGTH } from '../tokens/http/app-fields.dto.js';
import { NestFactory } from '@nestjs/core';
import { fullAccessPrincipal, type Principal } from '../access/principal.js';
import { isPermission, type Permission } from '../access/permissions.js';
import { AuditService } from '../audit/audit.service.js';
import { ApiError } from '../common/errors/api-error.js';
import { parseDateTime, parseDuration as parseDurationText } from '../common/time.js';
import { isUuid } from '../common/uuid.js';
import type { AppConfig } from '../config/config.schema.js';
import { DataDirLockedError } from '../database/connect.js';
import { openDatabase, withConfigAndDatabase } from '../database/database.module.js';
import type { DatabaseService } from '../database/database.service.js';
import { ProjectTokensMapper } from '../tokens/http/calyptia/project-tokens.mapper.js';
import { ProjectsService } from '../projects/projects.service.js';
import type { ApiTokenDto, CreateApiTokenDto } from '../tokens/http/publisher/publisher.dto.js';
import { PublisherService } from '../tokens/publisher.service.js';
import { TokensService } from '../tokens/tokens.service.js';
import { TokensRepository } from '../tokens/tokens.repository.js';
import { TokenVerifier, verifyResult } from '../verification/token-verifier.js';
import { VerificationRepository } from '../verification/verification.repository.js';
import { WebhookEventsService } from '../webhooks/webhook-events.service.js';
import { WebhooksRepository } from '../webhooks/webhooks.repository.js';
import { WebhooksService } from '../webhooks/webhooks.service.js';
import { CliModule } from './cli.module.js';
import { AdminTokens } from '../tokens/admin-token.js';
import { TokenIssuer } from '../tokens/token-issuer.js';
import { CliError, type Output } from './output.js';
import { hostname, userInfo } from 'node:os';

/** The operator at the console: acts like the bootstrap admin token (write, every project, no expiry). */
export const OPERATOR: Principal = fullAccessPrincipal('cli', 'cli', 'keyward CLI');

class SilentLogger extends Logger {
  override log(): void {}
}

/** The services the CLI drives, built on the configured database without the HTTP layer. */
export interface TokenServices {
  publisher: PublisherService;
  rotation: TokensService;
  projects: ProjectsService;
  projectTokens: ProjectTokensMapper;
  tokens: TokensRepository;
  projectRefs: VerificationRepository;
  audit: AuditService;
  /** The same verifier the service's guard and verify API use (no tokens file, no cache). */
  verifier: TokenVerifier;
  admin: AdminTokens;
  webhooks: WebhooksService;
}

/** What the audit trail shows as the origin of CLI actions (their actor is `cli`). */
function cliOrigin() {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    /* no passwd entry */
  }
  return { clientAddress: null, userAgent: `keyward-cli (${user}@${hostname()})`, traceId: null };
}

/** Runs `fn` with the services on the configured database, closing them (and the database's lock) after. */
export async function withTokens<T>(config: AppConfig, fn: (tokens: TokenServices) => Promise<T>): Promise<T> {
  const db = await openCliDatabase(config);
  const app = await cliContext(config, db);
  try {
    const audit = app.get(AuditService);
    audit.setFallbackOrigin(cliOrigin());
    // Token events of CLI actions are queued for webhooks too (the running service delivers them).
    const webhookRepo = new WebhooksRepository(db);
    const webhookEvents = new WebhookEventsService(config, webhookRepo, audit);
    try {
      return await fn({
        publisher: app.get(PublisherService),
        rotation: app.get(TokensService),
        verifier: app.get(TokenVerifier),
        projects: app.get(ProjectsService),
        projectTokens: app.get(ProjectTokensMapper),
        tokens: app.get(TokensRepository),
        projectRefs: app.get(VerificationRepository),
        audit,
        webhooks: new WebhooksService(webhookRepo, audit),
        admin: new AdminTokens(app.get(TokensRepository), app.get(TokenIssuer), audit),
      });
    } finally {
      await webhookEvents.settled();
    }
  } catch (err) {
    if (err instanceof ApiError) {
      const fields = (err.data as { fields?: Record<string, string[]> }).fields;
      throw new CliError(fields ? Object.values(fields).flat().join('; ') : err.message);
    }
    throw err;
  } finally {
    // Flushes the last-use times and the audit counts, then closes the database.
    await app.close();
  }
}

async function openCliDatabase(config: AppConfig): Promise<DatabaseService> {
  try {
    return await openDatabase(config, new SilentLogger('Database'));
  } catch (err) {
    // DataDirLockedError explains itself (the service holds the embedded database); the rest is a
    // connection or migration failure.
    if (err instanceof DataDirLockedError) throw new CliError(err.message);
    throw new CliError(`cannot open the database: ${(err as Error).message}`);
  }
}

/**
 * The service's own modules, without HTTP: no cache (one check per process), so no change listener
 * (nor confirmations: the CLI answers no HTTP request), no tokens file, no admin token (the operator
 * acts as itself). Closes the database when the modules fail to start.
 */
async function cliContext(config: AppConfig, db: DatabaseService): Promise<INestApplicationContext> {
  const cliConfig: AppConfig = {
    ...config,
    KEYWARD_AUTH_CACHE_TTL: 0,
    KEYWARD_REVOKE_CONFIRM: 'off',
    KEYWARD_TOKENS_FILE: undefined,
    KEYWARD_ADMIN_TOKEN: undefined,
  };
  try {
    return await withConfigAndDatabase(cliConfig, db, () =>
      NestFactory.createApplicationContext(CliModule, { logger: false, abortOnError: false }),
    );
  } catch (err) {
    await db.handle.close();
    throw err;
  }
}

function parseDuration(value: string, what: string): number {
  const parsed = parseDurationText(value);
  if (parsed === null || parsed <= 0) {
    throw new CliError(`${what}: not a duration: "${value}" (use e.g. 30s, 15m, 1h, 7d)`);
  }
  return parsed;
}

export function checkId(id: string): string {
  if (!isUuid(id)) throw new CliError(`not a token id: "${id}" (ids are UUIDs, see \`keyward token list\`)`);
  return id;
}

export interface CreateOptions {
  access: 'read' | 'write';
  description?: string;
  expiresAt?: string;
  ttl?: string;
  scope?: string[];
  owner?: string;
  meta?: string;
  remaining?: string;
  json?: boolean;
}

/** The app fields of `token create`, checked like the HTTP API checks them. */
function appFieldsOf(opts: CreateOptions): Partial<CreateApiTokenDto> {
  const fields: Partial<CreateApiTokenDto> = {};
  if (opts.scope?.length) {
    const bad = opts.scope.find((s) => !isScope(s));
    if (bad !== undefined) throw new CliError(`--scope must match ${SCOPE_PATTERN_SOURCE} (got "${bad}")`);
    if (opts.scope.length > MAX_SCOPES) throw new CliError(`at most ${MAX_SCOPES} --scope`);
    fields.scopes = opts.scope;
  }
  if (opts.owner !== undefined) {
    if (!opts.owner || opts.owner.length > MAX_OWNER_LENGTH) {
      throw new CliError(`--owner must be 1 to ${MAX_OWNER_LENGTH} characters`);
    }
    fields.owner = opts.owner;
  }
  if (opts.meta !== undefined) {
    let meta: unknown;
    try {
      meta = JSON.parse(opts.meta);
    } catch {
      throw new CliError('--meta must be a JSON object');
    }
    if (typeof meta !== 'object' || meta === null || Array.isArray(meta))
      throw new CliError('--meta must be a JSON object');
    fields.meta = meta as Record<string, unknown>;
  }
  if (opts.remaining !== undefined) {
    const n = Number(opts.remaining);
    if (!Number.isInteger(n) || n < 0 || n > 2_147_483_647)
      throw new CliError('--remaining must be a whole number >= 0');
    fields.remaining = n;
  }
  return fields;
}

export async function create(config: AppConfig, opts: CreateOptions, out: Output): Promise<void> {
  if (opts.expiresAt && opts.ttl) throw new CliError('give --expires-at or --ttl, not both');
  let expires_at: string | undefined;
  if (opts.ttl) expires_at = new Date(Date.now() + parseDuration(opts.ttl, '--ttl')).toISOString();
  if (opts.expiresAt) {
    const at = parseDateTime(opts.expiresAt);
    if (!at) {
      throw new CliError(
        `--expires-at must be an RFC 3339 date-time, e.g. 2030-12-31T23:59:59Z (got "${opts.expiresAt}")`,
      );
    }
    if (at.getTime() <= Date.now()) throw new CliError('--expires-at must be in the future');
    expires_at = opts.expiresAt;
  }
  const dto: CreateApiTokenDto = {
    access: opts.access,
    description: opts.description ?? null,
    expires_at,
    ...appFieldsOf(opts),
  };
  const created = await withTokens(config, (tokens) => tokens.publisher.create(OPERATOR, dto));
  if (opts.json) return out.line(JSON.stringify(created, null, 2));
  out.line('✓ Token created');
  out.line(`ID:          ${created.id}`);
  out.line(`Access:      ${created.access}`);
  if (created.description) out.line(`Description: ${created.description}`);
  out.line(`Expires:     ${created.expires_at ?? 'never'}`);
  if (dto.scopes?.length) out.line(`Scopes:      ${dto.scopes.join(' ')}`);
  if (dto.owner) out.line(`Owner:       ${dto.owner}`);
  if (typeof dto.remaining === 'number') out.line(`Remaining:   ${dto.remaining}`);
  out.line(`Token:       ${created.token}`);
  out.line('');
  out.line('⚠️  Store the token now: it is shown only this once.');
}

export async function list(config: AppConfig, opts: { json?: boolean }, out: Output): Promise<void> {
  const rows = await withTokens(config, async (tokens) => {
    const all: ApiTokenDto[] = [];
    let cursor: string | undefined;
    do {
      const page = await tokens.publisher.list(OPERATOR, { pagination: { limit: 500, cursor } });
      all.push(...page.data);
      cursor = page.page.cursor ?? undefined;
    } while (cursor);
    return all;
  });
  if (opts.json) return out.line(JSON.stringify(rows, null, 2));
  if (!rows.length) return out.line('No tokens.');
  const table = [
    ['ID', 'ACCESS', 'STATUS', 'STUB', 'CREATED', 'EXPIRES', 'LAST USED', 'DESCRIPTION'],
    ...rows.map((r) => [
      r.id,
      r.access,
      r.status,
      r.token_stub,
      r.created_at,
      r.expires_at ?? 'never',
      r.last_used_at ?? 'never',
      r.description ?? '',
    ]),
  ];
  printTable(table, out);
}

/** Columns padded to their widest cell, two spaces apart. */
export function printTable(table: string[][], out: Output): void {
  const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
  for (const row of table)
    out.line(
      row
        .map((cell, i) => cell.padEnd(widths[i]))
        .join('  ')
        .trimEnd(),
    );
}

export async function revoke(config: AppConfig, id: string, opts: { json?: boolean }, out: Output): Promise<void> {
  checkId(id);
  const row = await withTokens(config, (tokens) => tokens.publisher.revoke(OPERATOR, id));
  if (opts.json) return out.line(JSON.stringify(row, null, 2));
  out.line(`✓ Token ${row.id} revoked (at ${row.revoked_at}); it no longer authenticates.`);
  if (row.revoked_descendants) out.line(`  ${row.revoked_descendants} token(s) created through it were revoked too.`);
}

export async function rotate(
  config: AppConfig,
  id: string,
  opts: { grace?: string; json?: boolean },
  out: Output,
): Promise<void> {
  const graceMs = opts.grace ? parseDuration(opts.grace, '--grace') : 0;
  checkId(id);
  const rotated = await withTokens(config, (tokens) => tokens.rotation.rotate(OPERATOR, id, graceMs));
  if (opts.json) return out.line(JSON.stringify(rotated, null, 2));
  out.line('✓ Token rotated');
  out.line(`ID:        ${rotated.id}`);
  out.line(`New Token: ${rotated.token}`);
  out.line('');
  out.line(
    rotated.previous_expires_at
      ? `The previous token keeps working until ${rotated.previous_expires_at}; update your applications before then.`
      : '⚠️  The previous token no longer works. Update your applications with the new token.',
  );
}

export interface VerifyOptions {
  permission?: string;
  project?: string;
  consume?: boolean;
  json?: boolean;
}

/**
 * Checks a token read from standard input (never from the command line, where it would land in the
 * shell history and the process list) through the service's own engine. Exit code 0 only if VALID;
 * `--json` prints what `POST /v1/tokens/verify` answers.
 */
export async function verify(config: AppConfig, opts: VerifyOptions, input: string, out: Output): Promise<boolean> {
  const presented = input.trim();
  if (!presented) throw new CliError('pipe the token to check into standard input, e.g. `keyward token verify < file`');
  if (opts.permission !== undefined && !isPermission(opts.permission)) {
    throw new CliError(`--permission must be a permission such as read:token (got "${opts.permission}")`);
  }
  const verification = await withTokens(config, async (tokens) =>
    tokens.verifier.check({
      credential: presented,
      via: 'cli',
      permission: opts.permission as Permission | undefined,
      project: opts.project,
      consume: !!opts.consume,
    }),
  );
  // The same answer as POST /v1/tokens/verify.
  const result = verifyResult(verification);
  const p = result.valid || result.code !== 'NOT_FOUND' ? verification.principal : undefined;
  if (opts.json) out.line(JSON.stringify(result, null, 2));
  else {
    out.line(`${result.valid ? '✓' : '✗'} ${result.code}`);
    if (p) {
      out.line(`ID:          ${p.id}`);
      out.line(`Permissions: ${p.permissions.join(' ')}`);
      out.line(`Projects:    ${p.projects === null ? 'every project' : p.projects.join(' ') || 'none'}`);
      out.line(`Expires:     ${p.expiresAt?.toISOString() ?? 'never'}`);
    }
  }
  return result.valid;
}

/**
 * `keyward admin reset`: a new secret for the admin token a first start created (same id: the tokens
 * created through it keep working), or a new admin token when there is none. Printed once.
 */
export async function adminReset(config: AppConfig, opts: { json?: boolean }, out: Output): Promise<void> {
  const reset = await withTokens(config, (tokens) => tokens.admin.reset(OPERATOR));
  const doc = { id: reset.row.id, token: reset.token, replaced: reset.replaced };
  if (opts.json) return out.line(JSON.stringify(doc, null, 2));
  out.line(reset.replaced ? '✓ Admin token rotated' : '✓ Admin token created');
  out.line(`ID:          ${reset.row.id}`);
  out.line(`Admin token: ${reset.token}`);
  out.line('');
  out.line('⚠️  Store the token now: it is shown only this once.');
  if (reset.replaced) out.line('   The previous admin token no longer works.');
}
