import { describe, expect, it } from 'vitest';
import { parseDateTime, parseDuration, parseSince } from './time.js';

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

describe('parseDuration and parseSince', () => {
  it.each([
    ['30s', 30_000],
    [' 15m ', 900_000],
    ['1H', 3_600_000],
    ['7d', 604_800_000],
    ['1500', 1500],
    ['0', 0],
  ])('reads %s', (text, value) => {
    expect(parseDuration(text)).toBe(value);
  });

  it.each(['', 'soon', '-1h', '1 fortnight', 'x'.repeat(200), 12 as unknown as string])('refuses %s', (text) => {
    expect(parseDuration(text)).toBeNull();
  });

  it('since: an RFC 3339 time, or a duration back from now', () => {
    expect(parseSince('2030-01-01T00:00:00Z')?.toISOString()).toBe('2030-01-01T00:00:00.000Z');
    expect(parseSince('1h', 10_000_000)?.getTime()).toBe(10_000_000 - 3_600_000);
    expect(parseSince('2030-12-31 23:59:59Z')).toBeNull();
    expect(parseSince('0s')).toBeNull();
  });
});
