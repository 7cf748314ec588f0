import { describe, expect, it } from 'vitest';
import { DatabaseDownError, isDatabaseUnavailable } from './database-errors.js';
import { toEnvelope } from './error-envelope.js';

const err = (message: string, extra: Record<string, unknown> = {}) => Object.assign(new Error(message), extra);

describe('isDatabaseUnavailable', () => {
  it.each([
    ['our own fast failure', new DatabaseDownError()],
    ['refused connection', err('connect ECONNREFUSED 127.0.0.1:5432', { code: 'ECONNREFUSED', syscall: 'connect' })],
    ['pool wait', err('timeout exceeded when trying to connect')],
    ['client read timeout', err('Query read timeout')],
    ['dropped connection', err('Connection terminated unexpectedly')],
    ['admin shutdown', err('terminating connection due to administrator command', { code: '57P01' })],
    ['statement_timeout', err('canceling statement due to statement timeout', { code: '57014' })],
    ['too many connections', err('sorry, too many clients already', { code: '53300' })],
    ['Prisma pool timeout', err('Timed out fetching a new connection', { code: 'P2024' })],
    [
      'adapter error wrapped by Prisma',
      err('x', {
        name: 'PrismaClientKnownRequestError',
        code: 'P9999',
        meta: { driverAdapterError: { cause: { kind: 'DatabaseNotReachable' } } },
      }),
    ],
    ['a cause chain', err('outer', { cause: err('inner', { code: 'ECONNRESET' }) })],
  ])('%s → unavailable (503)', (_, e) => {
    expect(isDatabaseUnavailable(e)).toBe(true);
    const mapped = toEnvelope(e);
    expect(mapped.status).toBe(503);
    expect(mapped.code).toBe('service_unavailable');
    expect(mapped.retryAfter).toBeGreaterThan(0);
  });

  it.each([
    ['unique violation', err('duplicate key', { code: '23505' })],
    [
      'Prisma unique violation',
      err('Unique constraint failed', { name: 'PrismaClientKnownRequestError', code: 'P2002' }),
    ],
    ['a plain bug', new TypeError('x is undefined')],
    ['not an object', 'boom'],
  ])('%s → not unavailable', (_, e) => {
    expect(isDatabaseUnavailable(e)).toBe(false);
    expect(toEnvelope(e).status).not.toBe(503);
  });
});
