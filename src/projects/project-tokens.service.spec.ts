import { describe, expect, it } from 'vitest';
import { inProjectScope } from '../auth/auth.guard.js';
import type { Principal } from '../access/principal.js';
import { normalizePermissions } from './project-tokens.service.js';

const principal = (projects: string[] | null): Principal => ({
  source: 'database',
  id: 'x',
  name: null,
  kind: projects ? 'project' : 'global',
  access: 'read',
  permissions: ['read:*'],
  projects,
  expiresAt: null,
});

describe('normalizePermissions', () => {
  it('dedupes and orders by the enum', () => {
    expect(normalizePermissions(['read:token', 'create:*', 'read:token', 'delete:project'])).toEqual([
      'create:*',
      'read:token',
      'delete:project',
    ]);
  });
});

describe('inProjectScope', () => {
  const id = '123e4567-e89b-12d3-a456-426614174000';
  it('lets unscoped callers into every project and scoped ones into theirs only', () => {
    expect(inProjectScope(principal(null), id)).toBe(true);
    expect(inProjectScope(principal([id]), id.toUpperCase())).toBe(true);
    expect(inProjectScope(principal(['223e4567-e89b-12d3-a456-426614174000']), id)).toBe(false);
    expect(inProjectScope(principal([]), id)).toBe(false);
  });
});
