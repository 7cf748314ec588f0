import { describe, expect, it } from 'vitest';
import { accessOf, grants, grantsAll, isPermission, Permission, permissionsForAccess } from './permissions.js';

describe('permissions', () => {
  it('lets <action>:* cover every resource of that action and nothing else', () => {
    expect(grants(['create:*'], Permission.CreateToken)).toBe(true);
    expect(grants(['create:*'], Permission.CreateAll)).toBe(true);
    expect(grants(['create:*'], Permission.ReadToken)).toBe(false);
    expect(grants(['create:token'], Permission.CreateAll)).toBe(false);
    expect(grants(['create:token'], Permission.CreateProject)).toBe(false);
  });

  it('checks whole grants and rejects values outside the enum', () => {
    expect(grantsAll(permissionsForAccess('write'), ['delete:token', 'read:project'])).toBe(true);
    expect(grantsAll(permissionsForAccess('read'), ['read:token', 'update:token'])).toBe(false);
    expect(grantsAll(['create:*'], ['create:everything'])).toBe(false);
    expect(isPermission('read:*')).toBe(true);
    expect(isPermission('admin')).toBe(false);
  });

  it('derives access levels', () => {
    expect(accessOf(['read:*', 'read:token'])).toBe('read');
    expect(accessOf(['read:*', 'delete:token'])).toBe('write');
  });
});
