import { validationFailed } from '../common/errors/validation.js';
import { parseDateTime } from '../common/time.js';

/**
 * An expiry a create asks for, in any API style: an RFC 3339 date-time in the future and within
 * KEYWARD_MAX_TOKEN_TTL (`maxTtlMs`), else a 400 on `field` (`example`: a sample value the message
 * shows). Absent or null: no expiry.
 */
export function requestedExpiry(
  value: string | null | undefined,
  maxTtlMs: number,
  { field, example }: { field: string; example?: string },
): Date | null {
  if (value === undefined || value === null) return null;
  const at = parseDateTime(value);
  if (!at) {
    throw validationFailed({
      [field]: [`${field} must be an RFC 3339 date-time${example ? `, e.g. ${example}` : ''}`],
    });
  }
  if (at.getTime() <= Date.now()) throw validationFailed({ [field]: [`${field} must be in the future`] });
  if (at.getTime() > Date.now() + maxTtlMs) {
    throw validationFailed({ [field]: [`${field} is further away than KEYWARD_MAX_TOKEN_TTL allows`] });
  }
  return at;
}
