import { describe, expect, it } from 'vitest';
import { ApiError } from '../common/errors/api-error.js';
import { READ_PERMISSIONS, requestedPermissions, WRITE_PERMISSIONS } from './permissions.js';

describe('requestedPermissions: what a create or update asks for, in every API style', () => {
  it('an explicit list wins, normalized (unique, in the enum order)', () => {
    expect(requestedPermissions({ permissions: ['read:token', 'create:token', 'read:token'] }, [])).toEqual([
      'create:token',
      'read:token',
    ]);
  });

  it('an empty list counts as none given (Calyptia clients send [] for "all")', () => {
    expect(requestedPermissions({ permissions: [] }, WRITE_PERMISSIONS)).toEqual(WRITE_PERMISSIONS);
  });

  it('else what access stands for, else the fallback (a copy)', () => {
    expect(requestedPermissions({ access: 'read' }, WRITE_PERMISSIONS)).toEqual(READ_PERMISSIONS);
    expect(requestedPermissions({ access: 'write' }, READ_PERMISSIONS)).toEqual(WRITE_PERMISSIONS);
    const fallback = ['read:token'] as const;
    const got = requestedPermissions({}, fallback as never);
    expect(got).toEqual(['read:token']);
    expect(got).not.toBe(fallback);
  });

  it('refuses a list holding more than a read access stands for (400)', () => {
    const ask = { access: 'read' as const, permissions: ['create:token'] };
    expect(() => requestedPermissions(ask, [])).toThrow(ApiError);
    expect(requestedPermissions({ access: 'write', permissions: ['read:token'] }, [])).toEqual(['read:token']);
  });
});
