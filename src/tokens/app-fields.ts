import { normalizeScopes } from '../access/app-scopes.js';
import type { AuditDetails } from '../audit/audit.service.js';
import { validationFailed } from '../common/errors/validation.js';
import { Prisma } from '../generated/prisma/client.js';
import type { TokenRow } from './tokens.repository.js';
import { type AppFieldsDto, type AppFieldsViewDto, MAX_META_BYTES } from './http/app-fields.dto.js';

/** The columns the app fields of a create or update body set (absent fields: not set). */
export type AppFieldsData = Pick<
  Prisma.ApiTokenUncheckedCreateInput,
  | 'scopes'
  | 'meta'
  | 'owner'
  | 'ratelimitLimit'
  | 'ratelimitDurationMs'
  | 'remaining'
  | 'refillAmount'
  | 'refillIntervalMs'
  | 'refilledAt'
>;

/** Checks what class-validator cannot (meta's size, refill without credits) and maps the body to columns. */
export function appFieldsData(dto: AppFieldsDto, now = new Date(), current?: TokenRow): AppFieldsData {
  const data: AppFieldsData = {};
  if (dto.scopes !== undefined) data.scopes = normalizeScopes(dto.scopes ?? []);
  if (dto.meta !== undefined) {
    if (dto.meta !== null && Buffer.byteLength(JSON.stringify(dto.meta)) > MAX_META_BYTES) {
      throw validationFailed({ meta: [`meta must be at most ${MAX_META_BYTES} bytes of JSON`] });
    }
    data.meta = dto.meta === null ? Prisma.DbNull : (dto.meta as Prisma.InputJsonValue);
  }
  if (dto.owner !== undefined) data.owner = dto.owner;
  if (dto.ratelimit !== undefined) {
    data.ratelimitLimit = dto.ratelimit?.limit ?? null;
    data.ratelimitDurationMs = dto.ratelimit?.duration ?? null;
  }
  if (dto.remaining !== undefined) data.remaining = dto.remaining;
  if (dto.refill !== undefined) {
    data.refillAmount = dto.refill?.amount ?? null;
    data.refillIntervalMs = dto.refill?.interval ?? null;
    data.refilledAt = dto.refill ? now : null;
  }
  const hasCredits = data.remaining !== undefined ? data.remaining !== null : (current?.remaining ?? null) !== null;
  const hasRefill =
    data.refillAmount !== undefined ? data.refillAmount !== null : (current?.refillAmount ?? null) !== null;
  if (hasRefill && !hasCredits) throw validationFailed({ refill: ['refill needs remaining (usage credits)'] });
  return data;
}

/** The app fields of a stored token, as list and get answers show them. */
export function appFieldsView(row: TokenRow): AppFieldsViewDto {
  return {
    scopes: [...row.scopes],
    meta: (row.meta as Record<string, unknown> | null) ?? null,
    owner: row.owner,
    ratelimit:
      row.ratelimitLimit !== null && row.ratelimitDurationMs !== null
        ? { limit: row.ratelimitLimit, duration: row.ratelimitDurationMs }
        : null,
    remaining: row.remaining,
    refill:
      row.refillAmount !== null && row.refillIntervalMs !== null
        ? { amount: row.refillAmount, interval: row.refillIntervalMs }
        : null,
  };
}

/** What the audit log records of a token's app fields (the meta's keys only, never its values). */
export function auditedAppFields(row: TokenRow): AuditDetails {
  const out: AuditDetails = {};
  if (row.scopes.length) out.scopes = [...row.scopes];
  if (row.owner !== null) out.owner = row.owner;
  if (row.meta !== null) out.meta_keys = Object.keys(row.meta as object);
  if (row.ratelimitLimit !== null) {
    out.ratelimit_limit = row.ratelimitLimit;
    out.ratelimit_duration = row.ratelimitDurationMs;
  }
  if (row.remaining !== null) out.remaining = row.remaining;
  if (row.refillAmount !== null) {
    out.refill_amount = row.refillAmount;
    out.refill_interval = row.refillIntervalMs;
  }
  return out;
}
