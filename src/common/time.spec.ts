import { describe, expect, it } from 'vitest';
import { parseDateTime } from './dates.js';

describe('parseDateTime', () => {
  it.each([
    ['2030-12-31T23:59:59Z', '2030-12-31T23:59:59.000Z'],
    ['2030-12-31t23:59:59.123456z', '2030-12-31T23:59:59.123Z'],
    ['2028-02-29T00:00:00+02:00', '2028-02-28T22:00:00.000Z'],
    ['0001-01-01T00:00:00Z', '0001-01-01T00:00:00.000Z'],
  ])('accepts %s', (text, iso) => {
    expect(parseDateTime(text)?.toISOString()).toBe(iso);
  });

  it.each([
    '2030-02-30T00:00:00Z',
    '2029-02-29T00:00:00Z',
    '2030-04-31T00:00:00Z',
    '2030-13-01T00:00:00Z',
    '2030-00-10T00:00:00Z',
    '2030-12-31T23:59:60Z',
    '2030-12-31T24:00:00Z',
    '2030-12-31T23:60:00Z',
    '2030-12-31T23:59:59+24:00',
    '0000-01-01T00:00:00Z',
    '99999-01-01T00:00:00Z',
    '2030-12-31',
    '2030-12-31 23:59:59Z',
    '2030-12-31T23:59:59',
    'tomorrow',
    '',
  ])('rejects %s', (text) => {
    expect(parseDateTime(text)).toBeNull();
  });

  it('rejects non-strings', () => {
    for (const v of [null, undefined, 0, 1e15, {}, []]) expect(parseDateTime(v)).toBeNull();
  });
});
