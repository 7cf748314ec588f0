import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
export const DIST_MAIN = join(ROOT, 'dist/main.js');
export const DIST_CLI = join(ROOT, 'dist/cli/main.js');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'generated') continue;
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** True when dist/ is missing or older than a source file (tsc rewrites every output on each build). */
export function distIsStale(): boolean {
  const outputs = [DIST_MAIN, DIST_CLI];
  if (!outputs.every((f) => existsSync(f))) return true;
  const built = Math.min(...outputs.map((f) => statSync(f).mtimeMs));
  const sources = Math.max(newestMtime(join(ROOT, 'src')), statSync(join(ROOT, 'prisma/schema.prisma')).mtimeMs);
  return sources > built;
}

/** `npm run build` when dist/ is stale, once per test run (called from global-setup.ts). */
export function buildIfStale(): void {
  if (!distIsStale()) return;
  console.log('[keyward tests] building dist/ (npm run build) for the tests that spawn the service or the CLI');
  execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
}
