import { registerDecorator, type ValidationOptions } from 'class-validator';
import ms from 'ms';

/**
 * Time as it comes in from clients, the environment and the command line: the one place where
 * durations and date-times are parsed. Every DTO, the config and the CLI go through it.
 *
 * Durations (`parseDuration`): what `ms` reads (`30s`, `15m`, `1h`, `7d`, `1.5h`, case-insensitive), or
 * plain milliseconds (`1500`); never negative.
 *
 * Date-times (`parseDateTime`): strict RFC 3339. `new Date()` quietly rolls impossible dates over
 * (`2030-02-30` becomes 2 March) and PostgreSQL rejects what JavaScript accepts (year 0, leap second
 * `23:59:60`), so every date that comes in goes through here: `T` between date and time, a real
 * calendar date, seconds 0–59, years 1–9999, an explicit offset; anything else is null (a 400).
 */
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;
const MAX_DURATION_TEXT = 100;

/** Milliseconds in a duration such as `30s`, `15m`, `1h`, `7d` or `1500`; null when it is not one. */
export function parseDuration(text: unknown): number | null {
  if (typeof text !== 'string') return null;
  const value = text.trim();
  if (!value || value.length > MAX_DURATION_TEXT) return null;
  const parsed = ms(value.toLowerCase() as ms.StringValue);
  if (typeof parsed !== 'number' || !Number.isFinite(parsed) || parsed < 0) return null;
  return parsed;
}

/** A duration for people (`30 days`, `1 hour`). */
export function formatDuration(milliseconds: number): string {
  return ms(milliseconds, { long: true });
}

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** A strict RFC 3339 date-time, or null. */
export function parseDateTime(text: unknown): Date | null {
  if (typeof text !== 'string') return null;
  const m = RFC3339.exec(text);
  if (!m) return null;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return null;
  if (hour > 23 || minute > 59 || second > 59) return null;
  if (m[8] && (Number(m[9]) > 23 || Number(m[10]) > 59)) return null;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** A point in time given as an RFC 3339 date-time or as a positive duration back from `now` (`1h`, `7d`). */
export function parseSince(text: unknown, now = Date.now()): Date | null {
  const at = parseDateTime(text);
  if (at) return at;
  const back = parseDuration(text);
  return back !== null && back > 0 ? new Date(now - back) : null;
}

function decorator(name: string, accepts: (value: unknown) => boolean, message: (property: string) => string) {
  return (options?: ValidationOptions): PropertyDecorator =>
    (target: object, propertyName: string | symbol) =>
      registerDecorator({
        name,
        target: target.constructor,
        propertyName: String(propertyName),
        options,
        validator: { validate: accepts, defaultMessage: () => message(String(propertyName)) },
      });
}

/** class-validator: a string `parseDateTime` accepts. */
export const IsDateTime = decorator(
  'isDateTime',
  (value) => parseDateTime(value) !== null,
  (p) => `${p} must be an RFC 3339 date-time, e.g. 2030-12-31T23:59:59Z`,
);

/** class-validator: a string `parseSince` accepts. */
export const IsSince = decorator(
  'isSince',
  (value) => parseSince(value) !== null,
  (p) => `${p} must be an RFC 3339 date-time (e.g. 2030-01-01T00:00:00Z) or a duration back from now (e.g. 1h, 7d)`,
);
