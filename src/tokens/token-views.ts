import { normalizePermissions } from '../access/permissions.js';
import { appFieldsView } from './app-fields.js';
import type { ApiTokenDto } from './http/publisher/publisher.dto.js';
import type { TokenRow } from './tokens.repository.js';

export const iso = (d: Date | null) =>
  d ? d.toISOString().replace(/\.\d{3}Z$/, (m) => (m === '.000Z' ? 'Z' : m)) : null;

export function tokenStatus(row: TokenRow, now = new Date()): 'active' | 'expired' | 'revoked' | 'used' {
  if (row.revokedAt) return 'revoked';
  if (row.usedAt) return 'used';
  if (row.expiresAt && row.expiresAt <= now) return 'expired';
  return 'active';
}

export function toApiTokenDto(row: TokenRow): ApiTokenDto {
  const permissions = normalizePermissions(row.permissions);
  return {
    id: row.id,
    access: row.access,
    permissions,
    description: row.description,
    token_stub: row.stub,
    status: tokenStatus(row),
    created_at: iso(row.createdAt)!,
    expires_at: iso(row.expiresAt),
    revoked_at: iso(row.revokedAt),
    last_used_at: iso(row.lastUsedAt),
    enabled: row.enabled,
    ...appFieldsView(row),
  };
}
