import { ALL_PERMISSIONS, type Permission } from '../access/permissions.js';
import type { AppConfig } from '../config/config.schema.js';
import { iso, tokenStatus } from '../tokens/token-views.js';
import { CliError, type Output } from './output.js';
import { checkId, OPERATOR, printTable, type TokenServices, withTokens } from './token-commands.js';

/**
 * `keyward project …`: projects and their (Calyptia-style) project tokens, on the configured database,
 * acting as the operator (actor `cli` in the audit trail).
 */
export const PROJECT_PERMISSIONS: readonly string[] = ALL_PERMISSIONS;

/** A project given by id or by name. */
async function projectId(services: TokenServices, ref: string): Promise<string> {
  const [id] = await services.projectRefs.resolveProjectIds([ref]);
  if (!id) throw new CliError(`no such project: "${ref}" (see \`keyward project list\`)`);
  return id;
}

export async function create(config: AppConfig, name: string, opts: { json?: boolean }, out: Output): Promise<void> {
  const project = await withTokens(config, (s) => s.projects.create(OPERATOR, { name }));
  if (opts.json) return out.line(JSON.stringify(project, null, 2));
  out.line(`✓ Project created`);
  out.line(`ID:   ${project.id}`);
  out.line(`Name: ${project.name}`);
}

export async function list(config: AppConfig, opts: { json?: boolean }, out: Output): Promise<void> {
  const projects = await withTokens(config, async (s) => {
    const all = [];
    let cursor: string | undefined;
    do {
      const page = await s.projects.list(OPERATOR, { limit: 1000, cursor });
      all.push(...page.items);
      cursor = page.next ?? undefined;
    } while (cursor);
    return all;
  });
  if (opts.json) return out.line(JSON.stringify(projects, null, 2));
  if (!projects.length) return out.line('No projects.');
  printTable([['ID', 'NAME', 'CREATED'], ...projects.map((p) => [p.id, p.name, p.createdAt])], out);
}

export interface CreateTokenOptions {
  name: string;
  permission: string[];
  json?: boolean;
}

export async function createToken(
  config: AppConfig,
  project: string,
  opts: CreateTokenOptions,
  out: Output,
): Promise<void> {
  const created = await withTokens(config, async (s) =>
    s.projectTokens.create(OPERATOR, await projectId(s, project), {
      name: opts.name,
      permissions: opts.permission as Permission[],
    }),
  );
  if (opts.json) return out.line(JSON.stringify(created, null, 2));
  out.line('✓ Project token created');
  out.line(`ID:          ${created.id}`);
  out.line(`Name:        ${created.name}`);
  out.line(`Permissions: ${created.permissions.join(', ')}`);
  out.line(`Token:       ${created.token}`);
  out.line('');
  out.line('⚠️  Store the token now: it is shown only this once.');
}

interface ProjectTokenLine {
  id: string;
  name: string;
  permissions: string[];
  token_stub: string;
  status: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
}

export async function listTokens(
  config: AppConfig,
  project: string,
  opts: { json?: boolean },
  out: Output,
): Promise<void> {
  const rows = await withTokens(config, async (s) => {
    const id = await projectId(s, project);
    const found = await s.tokens.listProjectTokens(OPERATOR.projects, id);
    if (!found) throw new CliError(`no such project: "${project}" (see \`keyward project list\`)`);
    return found;
  });
  const tokens: ProjectTokenLine[] = rows.map((r) => ({
    id: r.id,
    name: r.name ?? '',
    permissions: r.permissions,
    token_stub: r.stub,
    status: tokenStatus(r),
    created_at: iso(r.createdAt)!,
    expires_at: iso(r.expiresAt),
    last_used_at: iso(r.lastUsedAt),
  }));
  if (opts.json) return out.line(JSON.stringify(tokens, null, 2));
  if (!tokens.length) return out.line('No tokens in this project.');
  printTable(
    [
      ['ID', 'NAME', 'PERMISSIONS', 'STUB', 'STATUS', 'CREATED', 'LAST USED'],
      ...tokens.map((t) => [
        t.id,
        t.name,
        t.permissions.join(','),
        t.token_stub,
        t.status,
        t.created_at,
        t.last_used_at ?? 'never',
      ]),
    ],
    out,
  );
}

export async function revokeToken(config: AppConfig, id: string, opts: { json?: boolean }, out: Output): Promise<void> {
  checkId(id);
  await withTokens(config, (s) => s.projectTokens.remove(OPERATOR, id));
  if (opts.json) return out.line(JSON.stringify({ id, revoked: true }, null, 2));
  out.line(`✓ Project token ${id} revoked; it no longer authenticates.`);
}

export async function remove(config: AppConfig, ref: string, opts: { json?: boolean }, out: Output): Promise<void> {
  const deleted = await withTokens(config, async (s) => s.projects.remove(OPERATOR, await projectId(s, ref)));
  if (opts.json) return out.line(JSON.stringify(deleted, null, 2));
  out.line(`✓ Project ${ref} deleted; its tokens were revoked.`);
}
