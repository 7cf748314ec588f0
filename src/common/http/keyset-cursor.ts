import { validationFailed } from '../errors/validation.js';
import { isUuid } from '../uuid.js';
import { parseDateTime } from '../time.js';

/**
 * Opaque cursors for keyset pagination over (created_at, id), shared by every list: base64url JSON
 * of the last row's position and, when the list can be sorted both ways, the direction.
 */
export type Direction = 'asc' | 'desc';

export interface KeysetPosition {
  createdAt: Date;
  id: string;
}

interface Encoded {
  c: string;
  i: string;
  d?: Direction;
}

export function encodeCursor(row: KeysetPosition, direction?: Direction): string {
  const body: Encoded = { c: row.createdAt.toISOString(), i: row.id, ...(direction ? { d: direction } : {}) };
  return Buffer.from(JSON.stringify(body)).toString('base64url');
}

/**
 * The position (and direction, when `withDirection`) a cursor stands for; a 400 naming `field` with
 * `message` for anything that is not a cursor this service wrote.
 */
export function decodeCursor(
  cursor: string,
  { field, message, withDirection = false }: { field: string; message: string; withDirection?: boolean },
): KeysetPosition & { direction: Direction } {
  try {
    const c = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Partial<Record<keyof Encoded, unknown>>;
    // Only what encodeCursor writes: a date PostgreSQL can hold, in toISOString's exact form.
    const createdAt = parseDateTime(c.c);
    if (!createdAt || createdAt.getUTCFullYear() < 1970 || createdAt.toISOString() !== c.c) throw new Error();
    if (typeof c.i !== 'string' || !isUuid(c.i)) throw new Error();
    if (withDirection && c.d !== 'asc' && c.d !== 'desc') throw new Error();
    return { createdAt, id: c.i, direction: withDirection ? (c.d as Direction) : 'desc' };
  } catch {
    throw validationFailed({ [field]: [message] });
  }
}

/** The Prisma `where` fragment for rows strictly after `after` in `direction` order. */
export function keysetAfter(after: KeysetPosition, direction: Direction) {
  const op = direction === 'desc' ? 'lt' : 'gt';
  return {
    OR: [{ createdAt: { [op]: after.createdAt } }, { createdAt: after.createdAt, id: { [op]: after.id } }],
  };
}
