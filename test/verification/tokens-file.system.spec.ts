import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { DIST_MAIN, ROOT } from '../support/build.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'keyward-tokens-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const write = (doc: unknown, path: string) =>
  writeFileSync(path, typeof doc === 'string' ? doc : JSON.stringify(doc, null, 2), { mode: 0o600 });

describe('a missing or invalid file stops the start', () => {
  it.each([
    ['a missing file', (p: string) => p, /keyward: tokens file .*missing\.json: does not exist/],
    ['invalid JSON', (p: string) => (write('{"tokens": {"ci": ', p), p), /keyward: tokens file .*: not valid JSON/],
    [
      'a bad entry',
      (p: string) => (write({ tokens: { ci: { token: 'abc', projects: 'my-app' } } }, p), p),
      /keyward: tokens file .*: tokens\["ci"\]\.projects must be an array of strings/,
    ],
    ['a directory', () => dir, /keyward: tokens file .*: is a directory/],
  ])(
    'node dist/main.js --tokens with %s exits 1 naming the problem, before touching the database',
    async (_, make, message) => {
      const path = make(join(dir, 'missing.json'));
      const dataDir = join(dir, 'never-created');
      try {
        const err = await run('node', [DIST_MAIN, '--tokens', path], {
          cwd: ROOT,
          env: { ...process.env, DATABASE_URL: '', KEYWARD_DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'silent' },
          timeout: 120_000,
        }).then(
          () => null,
          (e: { code: number; stderr: string }) => e,
        );
        expect(err).not.toBeNull();
        expect(err!.code).toBe(1);
        expect(err!.stderr.trim()).toMatch(message);
        expect(err!.stderr.trim().split('\n')).toHaveLength(1);
        expect(existsSync(dataDir)).toBe(false);
      } finally {
        rmSync(join(dir, 'missing.json'), { force: true });
      }
    },
  );
});
