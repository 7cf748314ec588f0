import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/config.schema.js';

describe('cleanup configuration', () => {
  it('defaults to a pass every five minutes, batches of 10000 and 30 days of revoked-token retention', () => {
    const c = loadConfig({});
    expect(c.KEYWARD_CLEANUP_INTERVAL).toBe(300_000);
    expect(c.KEYWARD_CLEANUP_BATCH_SIZE).toBe(10_000);
    expect(c.KEYWARD_REVOKED_RETENTION).toBe(30 * 86_400_000);
  });

  it('switches the job off with 0 or off', () => {
    for (const v of ['0', 'off', 'OFF', 'false', 'disabled'])
      expect(loadConfig({ KEYWARD_CLEANUP_INTERVAL: v }).KEYWARD_CLEANUP_INTERVAL).toBe(0);
    expect(loadConfig({ KEYWARD_CLEANUP_INTERVAL: '3s' }).KEYWARD_CLEANUP_INTERVAL).toBe(3000);
  });

  it('refuses intervals under a second, bad durations and bad batch sizes', () => {
    for (const env of [
      { KEYWARD_CLEANUP_INTERVAL: '10ms' },
      { KEYWARD_CLEANUP_INTERVAL: 'soon' },
      { KEYWARD_CLEANUP_BATCH_SIZE: '0' },
      { KEYWARD_REVOKED_RETENTION: 'forever' },
    ]) {
      expect(() => loadConfig(env), JSON.stringify(env)).toThrow(Object.keys(env)[0]);
    }
  });
});
