import { AUDIT_ACTIONS, type AuditAction } from '../audit/audit.actions.js';
import type { AuditEventDto } from '../audit/dto/audit.dto.js';
import { parseSince } from '../common/time.js';
import type { AppConfig } from '../config/config.schema.js';
import { CliError, type Output } from './output.js';
import { OPERATOR, printTable, withTokens } from './token-commands.js';

export interface AuditOptions {
  tokenId?: string;
  action?: AuditAction;
  since?: string;
  limit?: string;
  json?: boolean;
}

/** `--since` as an RFC 3339 time, or a duration back from now (`1h`, `7d`). */
function sinceOf(value: string, now = Date.now()): string {
  const since = parseSince(value, now);
  if (since) return since.toISOString();
  throw new CliError(
    `--since: "${value}" is neither an RFC 3339 time nor a duration (e.g. 2030-01-01T00:00:00Z, 1h, 7d)`,
  );
}

/** `keyward audit`: the newest audit events (the same rows as `GET /v1/audit`). */
export async function audit(config: AppConfig, opts: AuditOptions, out: Output): Promise<void> {
  const limit = opts.limit === undefined ? 100 : Number(opts.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100_000) {
    throw new CliError(`--limit must be a whole number from 1 to 100000 (got "${opts.limit}")`);
  }
  if (opts.action && !(AUDIT_ACTIONS as readonly string[]).includes(opts.action)) {
    throw new CliError(`--action must be one of: ${AUDIT_ACTIONS.join(', ')}`);
  }
  const since = opts.since ? sinceOf(opts.since) : undefined;
  const events = await withTokens(config, async (s) => {
    const all: AuditEventDto[] = [];
    let cursor: string | undefined;
    do {
      const page = await s.audit.list(OPERATOR, {
        token_id: opts.tokenId,
        action: opts.action,
        since,
        limit: Math.min(1000, limit - all.length),
        cursor,
      });
      all.push(...page.items);
      cursor = page.next ?? undefined;
    } while (cursor && all.length < limit);
    return all;
  });
  if (opts.json) return out.line(JSON.stringify(events, null, 2));
  if (!events.length) return out.line('No audit events.');
  printTable(
    [
      ['TIME', 'ACTION', 'ACTOR', 'TARGET', 'OUTCOME', 'COUNT', 'FROM', 'TRACE'],
      ...events.map((e) => [
        e.time,
        e.action,
        e.actor,
        e.targetId ? `${e.targetType}:${e.targetId}` : '-',
        e.outcome,
        String(e.count),
        e.clientAddress ?? e.userAgent ?? '-',
        e.traceId ?? '-',
      ]),
    ],
    out,
  );
}
