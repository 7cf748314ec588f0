import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ALL_PERMISSIONS, type Permission } from '../access/permissions.js';
import type { Principal } from '../access/principal.js';
import { type Verification, verifyResult, verifyResultJson } from './token-verifier.js';

const date = fc.date({
  min: new Date('2000-01-01T00:00:00Z'),
  max: new Date('2100-01-01T00:00:00Z'),
  noInvalidDate: true,
});
const json = fc.jsonValue().map((v) => JSON.parse(JSON.stringify(v)) as unknown);

const principal: fc.Arbitrary<Principal> = fc.record(
  {
    source: fc.constantFrom('admin', 'database', 'file', 'cli'),
    id: fc.uuid(),
    name: fc.option(fc.string(), { nil: null }),
    kind: fc.constantFrom('global', 'project'),
    access: fc.constantFrom('read', 'write'),
    permissions: fc.subarray([...ALL_PERMISSIONS] as Permission[]),
    projects: fc.option(fc.array(fc.uuid(), { maxLength: 3 }), { nil: null }),
    expiresAt: fc.option(date, { nil: null }),
    singleUse: fc.boolean(),
    parentId: fc.option(fc.uuid(), { nil: null }),
    flags: fc.record({
      allow_overwrite: fc.boolean(),
      allow_delete: fc.boolean(),
      existing_projects_only: fc.boolean(),
    }),
    scopes: fc.array(fc.stringMatching(/^[a-z]{1,8}(:[a-z]{1,8})?$/), { maxLength: 3 }),
    owner: fc.option(fc.string(), { nil: null }),
    meta: fc.option(fc.dictionary(fc.string(), json, { maxKeys: 4 }), { nil: null }),
  },
  {
    requiredKeys: [
      'source',
      'id',
      'name',
      'kind',
      'access',
      'permissions',
      'projects',
      'expiresAt',
      'singleUse',
      'parentId',
      'scopes',
    ],
  },
) as fc.Arbitrary<Principal>;

const verification: fc.Arbitrary<Pick<Verification, 'code' | 'principal' | 'usage'>> = fc.record(
  {
    code: fc.constantFrom(
      'VALID',
      'NOT_FOUND',
      'EXPIRED',
      'REVOKED',
      'DISABLED',
      'USED',
      'FORBIDDEN',
      'RATE_LIMITED',
      'USAGE_EXCEEDED',
      'MISSING',
    ),
    principal,
    usage: fc.record(
      {
        ratelimit: fc.record({ limit: fc.nat(), remaining: fc.nat(), reset: date }),
        remaining: fc.nat(),
      },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: ['code'] },
);

describe('verifyResultJson', () => {
  it('writes exactly what JSON.stringify(verifyResult(v)) writes, also for a principal seen before', () => {
    fc.assert(
      fc.property(verification, (v) => {
        const expected = JSON.stringify(verifyResult(v));
        expect(verifyResultJson(v)).toBe(expected);
        expect(verifyResultJson(v)).toBe(expected); // the token part now comes from the per-principal memo
      }),
      { numRuns: 500 },
    );
  });
});
