import { describe, expect, it } from 'vitest';
import type { AuditInsert, AuditRepository } from './audit.repository.js';
import { AuditService, tokenTarget } from './audit.service.js';

function fakeRepo() {
  const inserted: AuditInsert[] = [];
  const aggregates = new Map<string, AuditInsert & { count: number }>();
  const repo = {
    insert: async (data: AuditInsert) => void inserted.push(data),
    addToAggregate: async (key: string, data: AuditInsert & { count: number }) => {
      const previous = aggregates.get(key);
      aggregates.set(key, previous ? { ...previous, count: previous.count + data.count } : { ...data });
    },
  } as unknown as AuditRepository;
  return { repo, inserted, aggregates };
}

describe('AuditService', () => {
  it('records the actor id of a principal, the origin outside a request, and success by default', async () => {
    const { repo, inserted } = fakeRepo();
    const audit = new AuditService(repo);
    audit.setFallbackOrigin({ clientAddress: null, userAgent: 'keyward-cli (me@host)', traceId: null });
    await audit.record({
      action: 'token.revoke',
      actor: 'cli',
      target: tokenTarget({
        id: 't1',
        kind: 'project',
        projectId: '6dfc98db-c10b-4d20-b380-9a40e5db9077',
        scopeProjects: [],
      }),
      details: { cascade: 2 },
    });
    expect(inserted).toEqual([
      expect.objectContaining({
        action: 'token.revoke',
        actor: 'cli',
        targetType: 'token',
        targetId: 't1',
        projectId: '6dfc98db-c10b-4d20-b380-9a40e5db9077',
        userAgent: 'keyward-cli (me@host)',
        outcome: 'success',
        details: { cascade: 2 },
      }),
    ]);
  });

  it('never fails the action when the write fails', async () => {
    const audit = new AuditService({
      insert: async () => {
        throw new Error('database down');
      },
    } as unknown as AuditRepository);
    await expect(audit.record({ action: 'project.create', actor: 'admin' })).resolves.toBeUndefined();
  });

  it('aggregates failed authentications per credential and verdict, and writes them on flush', async () => {
    const { repo, aggregates } = fakeRepo();
    const audit = new AuditService(repo);
    for (let i = 0; i < 5; i++) audit.failedAuthentication({ code: 'NOT_FOUND', credentialId: null, lookupId: 'abc' });
    audit.failedAuthentication({
      code: 'REVOKED',
      credentialId: '6dfc98db-c10b-4d20-b380-9a40e5db9077',
      lookupId: null,
    });
    audit.failedAuthentication({ code: 'DISABLED', credentialId: 'file:old', lookupId: null });
    await audit.flush();
    const rows = [...aggregates.values()].map((r) => [r.outcome, r.targetType, r.targetId, r.count, r.actor]);
    expect(rows).toEqual([
      ['NOT_FOUND', 'lookup', 'abc', 5, 'anonymous'],
      ['REVOKED', 'token', '6dfc98db-c10b-4d20-b380-9a40e5db9077', 1, 'anonymous'],
      ['DISABLED', 'credential', 'file:old', 1, 'anonymous'],
    ]);
    // A second flush period adds to the same minute's rows.
    audit.failedAuthentication({ code: 'NOT_FOUND', credentialId: null, lookupId: 'abc' });
    await audit.flush();
    expect([...aggregates.values()][0].count).toBe(6);
  });

  it('folds a flood of distinct credentials into one row per verdict and minute', async () => {
    const { repo, aggregates } = fakeRepo();
    const audit = new AuditService(repo);
    for (let i = 0; i < 10_050; i++) {
      audit.failedAuthentication({ code: 'NOT_FOUND', credentialId: null, lookupId: `l${i}` });
    }
    await audit.flush();
    expect(aggregates.size).toBeLessThanOrEqual(10_001);
    expect([...aggregates.values()].reduce((n, r) => n + r.count, 0)).toBe(10_050);
  });
});
