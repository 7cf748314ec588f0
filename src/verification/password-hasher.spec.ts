import { describe, expect, it } from 'vitest';
import { ApiError } from '../common/errors/api-error.js';
import { loadConfig } from '../config/config.schema.js';
import { PasswordHasher } from './password-hasher.js';

describe('PasswordHasher', () => {
  it('runs at most KEYWARD_ARGON2_CONCURRENCY at once, queues KEYWARD_ARGON2_QUEUE, and refuses the rest with 503', async () => {
    const hasher = new PasswordHasher(loadConfig({ KEYWARD_ARGON2_CONCURRENCY: '1', KEYWARD_ARGON2_QUEUE: '2' }));
    const hash = await hasher.hash('right-secret');
    const before = hasher.stats;
    const attempts = Array.from({ length: 6 }, (_, i) => hasher.verify(hash, i === 0 ? 'right-secret' : 'wrong'));
    const results = await Promise.allSettled(attempts);
    expect(results.slice(0, 3).map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    expect((results[0] as PromiseFulfilledResult<boolean>).value).toBe(true);
    for (const r of results.slice(3)) {
      expect(r.status).toBe('rejected');
      const err = (r as PromiseRejectedResult).reason as ApiError;
      expect(err).toBeInstanceOf(ApiError);
      expect(err.status).toBe(503);
      expect(err.code).toBe('service_unavailable');
      expect(err.retryAfter).toBeGreaterThanOrEqual(1);
    }
    const after = hasher.stats;
    expect(after.verifies - before.verifies).toBe(3);
    expect(after.calls).toBe(after.verifies + after.hashes);
    expect(after.rejected - before.rejected).toBe(3);
    expect(after.active + after.queued).toBe(0);
  });
});
