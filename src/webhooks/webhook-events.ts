import type { Scope } from '../access/scope.js';

/** The events a webhook can subscribe to. */
export const WEBHOOK_EVENTS = [
  'token.created',
  'token.revoked',
  'token.disabled',
  'token.expiring',
  'token.expired',
  'token.leaked',
] as const;

export type WebhookEventType = (typeof WEBHOOK_EVENTS)[number];

/** A token as payloads describe it: never its secret, hash, lookup id or stub. */
export interface TokenSummary {
  id: string;
  name: string | null;
  kind: 'global' | 'project' | null;
  project_id: string | null;
  /** Projects a global token is confined to (empty: every project). */
  scope_projects: string[];
  permissions: string[];
  created_at: string | null;
  expires_at: string | null;
}

/** The body of a delivery, as the Standard Webhooks specification suggests: `type`, `timestamp`, `data`. */
export interface WebhookPayload {
  type: WebhookEventType;
  timestamp: string;
  data: Record<string, unknown> & { token: TokenSummary };
}

/** The token's project scope, as the policy compares scopes (null: every project). */
export function tokenScope(token: Pick<TokenSummary, 'kind' | 'project_id' | 'scope_projects'>): Scope {
  if (token.project_id) return [token.project_id];
  return token.scope_projects.length ? token.scope_projects : null;
}

export function tokenSummary(row: Record<string, unknown>): TokenSummary {
  const iso = (v: unknown) =>
    v instanceof Date ? v.toISOString() : typeof v === 'string' ? new Date(v).toISOString() : null;
  return {
    id: String(row.id),
    name: (row.name as string | null) ?? null,
    kind: (row.kind as TokenSummary['kind']) ?? null,
    project_id: (row.project_id as string | null) ?? null,
    scope_projects: (row.scope_projects as string[] | null) ?? [],
    permissions: (row.permissions as string[] | null) ?? [],
    created_at: iso(row.created_at),
    expires_at: iso(row.expires_at),
  };
}
