import { describe, expect, it } from 'vitest';
import { toCalyptia } from './error-dialect.js';

const body = (data: Record<string, unknown>) => ({
  error: { code: 'bad_request' as const, message: 'Request validation failed', data, trace_id: 't1' },
});

describe('toCalyptia', () => {
  it('puts the message in `error` as a string and keeps code, data and trace_id beside it', () => {
    expect(toCalyptia(body({}))).toEqual({
      error: 'Request validation failed',
      code: 'bad_request',
      data: {},
      trace_id: 't1',
    });
  });

  it('says in `detail` which fields are wrong, or which permissions are missing', () => {
    const fields = { name: ['name must be a string'], permissions: ['a', 'b'] };
    expect(toCalyptia(body({ fields })).detail).toBe('name: name must be a string; permissions: a, b');
    expect(toCalyptia(body({ missing: ['delete:*', 'update:*'] })).detail).toBe(
      'missing permissions: delete:*, update:*',
    );
    expect('detail' in toCalyptia(body({ name: 'x' }))).toBe(false);
  });
});
