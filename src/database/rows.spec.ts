import { describe, expect, it } from 'vitest';
import { camelRow } from './rows.js';

describe('camelRow', () => {
  it("maps snake_case columns to the model's field names, keeping values", () => {
    const at = new Date();
    expect(
      camelRow({ id: 'a', lookup_id: 'l', created_at: at, scope_projects: [], previous_secret_hash: null }),
    ).toEqual({ id: 'a', lookupId: 'l', createdAt: at, scopeProjects: [], previousSecretHash: null });
    expect(camelRow({ p_id: 'x', id: 'y' }, 'p_id')).toEqual({ id: 'y' });
  });
});
