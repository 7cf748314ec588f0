import { registerDecorator, type ValidationOptions } from 'class-validator';

/**
 * Strict RFC 3339 date-times. `new Date()` quietly rolls impossible dates over (`2030-02-30` becomes
 * 2 March) and PostgreSQL rejects what JavaScript accepts (year 0, leap second `23:59:60`), so every
 * date that comes in from a client goes through `parseDateTime`: a real calendar date, seconds 0–59,
 * years 1–9999, or null.
 */
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

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

/** class-validator: a string `parseDateTime` accepts. */
export function IsDateTime(options?: ValidationOptions): PropertyDecorator {
  return (target: object, propertyName: string | symbol) =>
    registerDecorator({
      name: 'isDateTime',
      target: target.constructor,
      propertyName: String(propertyName),
      options,
      validator: {
        validate: (value: unknown) => parseDateTime(value) !== null,
        defaultMessage: () => `${String(propertyName)} must be an RFC 3339 date-time, e.g. 2030-12-31T23:59:59Z`,
      },
    });
}
