import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, configSchema, loadConfig } from './config.schema.js';

const example = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8');
const reference = readFileSync(new URL('../../docs/operations/configuration.md', import.meta.url), 'utf8');
const keys = Object.keys(configSchema.shape);

describe('configuration', () => {
  it('.env.example and the configuration reference list every variable', () => {
    const listed = [...example.matchAll(/^([A-Z0-9_]+)=/gm)].map((m) => m[1]);
    expect(listed.sort()).toEqual([...keys].sort());
    for (const key of keys) expect(reference, key).toContain(`\`${key}\``);
  });

  it('.env.example values give the defaults', () => {
    const env = Object.fromEntries([...example.matchAll(/^([A-Z0-9_]+)=(.*)$/gm)].map((m) => [m[1], m[2]]));
    expect(loadConfig(env)).toEqual(loadConfig({}));
  });

  it('names every bad variable', () => {
    expect(() => loadConfig({ PORT: 'x', KEYWARD_AUTH_CACHE_TTL: 'soon' })).toThrow(ConfigError);
    try {
      loadConfig({ PORT: 'x', KEYWARD_AUTH_CACHE_TTL: 'soon' });
    } catch (e) {
      expect((e as Error).message).toMatch(/PORT/);
      expect((e as Error).message).toMatch(/KEYWARD_AUTH_CACHE_TTL/);
    }
  });
});
