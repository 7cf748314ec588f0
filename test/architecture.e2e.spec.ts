import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = join(import.meta.dirname, '..', 'src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'generated' ? [] : files(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** The top-level folder under src/ a file belongs to ('.' for src/ itself). */
const folderOf = (path: string) => {
  const parts = relative(SRC, path).split('/');
  return parts.length > 1 ? parts[0] : '.';
};

/** folder -> folders it imports from */
function importGraph(): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const file of files(SRC)) {
    const from = folderOf(file);
    for (const m of readFileSync(file, 'utf8').matchAll(/from '(\.\.?\/[^']+)'/g)) {
      const to = folderOf(normalize(join(dirname(file), m[1])));
      if (to === from) continue;
      if (!graph.has(from)) graph.set(from, new Set());
      graph.get(from)!.add(to);
    }
  }
  return graph;
}

describe('layout', () => {
  const graph = importGraph();

  it('no two feature folders import each other', () => {
    const cycles: string[] = [];
    for (const [a, targets] of graph) {
      for (const b of targets) if (a < b && graph.get(b)?.has(a)) cycles.push(`${a} <-> ${b}`);
    }
    expect(cycles).toEqual([]);
  });

  it('the rights vocabulary (src/access) depends on nothing but shared code', () => {
    expect([...(graph.get('access') ?? [])].filter((d) => d !== 'common')).toEqual([]);
  });

  it('token storage does not depend on authentication', () => {
    expect(graph.get('tokens')?.has('auth') ?? false).toBe(false);
  });

  it('the verification engine depends on no feature (tokens, projects) nor on the guard', () => {
    const features = ['tokens', 'projects', 'auth', 'metrics', 'health', 'cli'];
    expect([...(graph.get('verification') ?? [])].filter((d) => features.includes(d))).toEqual([]);
  });

  it('src/auth holds the guard only', () => {
    expect(readdirSync(join(SRC, 'auth')).sort()).toEqual(['auth.guard.ts', 'auth.module.ts']);
  });
});
