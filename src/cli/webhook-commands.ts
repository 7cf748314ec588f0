import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import type { AppConfig } from '../config/config.schema.js';
import { CreateWebhookDto, RotateWebhookSecretDto } from '../webhooks/dto/webhooks.dto.js';
import { WEBHOOK_EVENTS } from '../webhooks/webhook-events.js';
import { CliError, type Output } from './output.js';
import { isUuid } from '../common/uuid.js';
import { OPERATOR, printTable, withTokens } from './token-commands.js';

function checkId(id: string): string {
  if (!isUuid(id)) throw new CliError(`not a webhook id: "${id}" (ids are UUIDs, see \`keyward webhook list\`)`);
  return id;
}

/** class-validator over a DTO, as the HTTP layer does: the first problem of each field, in one line. */
async function valid<T extends object>(cls: new () => T, plain: Record<string, unknown>): Promise<T> {
  const dto = plainToInstance(cls, plain);
  const errors = await validate(dto, { whitelist: true, forbidNonWhitelisted: true });
  if (errors.length) {
    throw new CliError(
      errors.map((e) => Object.values(e.constraints ?? {})[0] ?? `${e.property} is invalid`).join('; '),
    );
  }
  return dto;
}

export interface CreateWebhookOptions {
  event?: string[];
  description?: string;
  json?: boolean;
}

/** `keyward webhook create <url> --event token.expiring --event token.revoked` */
export async function create(config: AppConfig, url: string, opts: CreateWebhookOptions, out: Output): Promise<void> {
  const events = (opts.event ?? [])
    .flatMap((e) => e.split(','))
    .map((e) => e.trim())
    .filter(Boolean);
  if (!events.length) throw new CliError(`--event is required (one or more of: ${WEBHOOK_EVENTS.join(', ')})`);
  const dto = await valid(CreateWebhookDto, {
    url,
    events,
    ...(opts.description ? { description: opts.description } : {}),
  });
  const created = await withTokens(config, (s) => s.webhooks.create(OPERATOR, dto));
  if (opts.json) return out.line(JSON.stringify(created, null, 2));
  out.line('✓ Webhook created');
  out.line(`ID:      ${created.id}`);
  out.line(`URL:     ${created.url}`);
  out.line(`Events:  ${created.events.join(', ')}`);
  out.line(`Secret:  ${created.secret}`);
  out.line('');
  out.line('⚠️  Store the signing secret now: it is shown only this once.');
}

export async function list(config: AppConfig, opts: { json?: boolean }, out: Output): Promise<void> {
  const rows = await withTokens(config, (s) => s.webhooks.list(OPERATOR));
  if (opts.json) return out.line(JSON.stringify(rows, null, 2));
  if (!rows.length) return out.line('No webhooks.');
  printTable(
    [
      ['ID', 'URL', 'EVENTS', 'PROJECTS', 'CREATED'],
      ...rows.map((w) => [w.id, w.url, w.events.join(','), w.projects ? w.projects.join(',') : 'all', w.created_at]),
    ],
    out,
  );
}

export async function remove(config: AppConfig, id: string, opts: { json?: boolean }, out: Output): Promise<void> {
  await withTokens(config, (s) => s.webhooks.delete(OPERATOR, checkId(id)));
  if (opts.json) return out.line(JSON.stringify({ id, deleted: true }));
  out.line(`✓ Webhook ${id} deleted`);
}

export async function rotate(
  config: AppConfig,
  id: string,
  opts: { grace?: string; json?: boolean },
  out: Output,
): Promise<void> {
  const dto = await valid(RotateWebhookSecretDto, opts.grace ? { grace: opts.grace } : {});
  const rotated = await withTokens(config, (s) => s.webhooks.rotate(OPERATOR, checkId(id), dto));
  if (opts.json) return out.line(JSON.stringify(rotated, null, 2));
  out.line(`✓ Webhook ${id} has a new signing secret`);
  out.line(`Secret:  ${rotated.secret}`);
  if (rotated.previous_secret_expires_at)
    out.line(`The previous secret also signs until ${rotated.previous_secret_expires_at}.`);
  out.line('');
  out.line('⚠️  Store the signing secret now: it is shown only this once.');
}

export async function deliveries(
  config: AppConfig,
  id: string,
  opts: { status?: string; limit?: string; json?: boolean },
  out: Output,
): Promise<void> {
  const limit = opts.limit === undefined ? 100 : Number(opts.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    throw new CliError(`--limit must be a whole number from 1 to 1000 (got "${opts.limit}")`);
  }
  if (opts.status && !['pending', 'succeeded', 'failed'].includes(opts.status)) {
    throw new CliError('--status must be one of: pending, succeeded, failed');
  }
  const rows = await withTokens(config, (s) =>
    s.webhooks.deliveries(OPERATOR, checkId(id), { limit, status: opts.status as 'pending' | undefined }),
  );
  if (opts.json) return out.line(JSON.stringify(rows, null, 2));
  if (!rows.length) return out.line('No deliveries.');
  printTable(
    [
      ['ID', 'EVENT', 'STATUS', 'ATTEMPTS', 'LAST ANSWER', 'CREATED', 'NEXT ATTEMPT'],
      ...rows.map((d) => [
        d.id,
        d.event_type,
        d.status,
        String(d.attempts),
        d.last_error ?? (d.last_status_code ? String(d.last_status_code) : '-'),
        d.created_at,
        d.next_attempt_at ?? '-',
      ]),
    ],
    out,
  );
}
