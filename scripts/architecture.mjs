// Draws docs/architecture.svg: the imports between the folders of src/, one node per folder, from the
// code (dependency-cruiser reads the imports, Graphviz compiled to WebAssembly lays them out, so nothing
// outside npm is needed). `npm run architecture` rewrites the file; CI fails when it differs.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Graphviz } from '@hpcc-js/wasm-graphviz';

const OUTPUT = 'docs/architecture.svg';
/** The files directly in src/ (main.ts, app.module.ts, app.factory.ts) wire the folders together. */
const ROOT_NODE = 'app';
/** Folders nearly every other one imports: drawn at the bottom. */
const SHARED = ['common', 'config'];

const depcruise = fileURLToPath(
  new URL('../node_modules/dependency-cruiser/bin/dependency-cruise.mjs', import.meta.url),
);
const result = JSON.parse(
  execFileSync(
    process.execPath,
    [depcruise, 'src', '--config', '.dependency-cruiser.cjs', '--collapse', '^src/[^/]+/', '--output-type', 'json'],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  ),
);

/** `src/tokens/` -> `tokens`; a file directly in src/ -> the root node. */
const folder = (source) => (/^src\/[^/]+\/$/.test(source) ? source.slice(4, -1) : ROOT_NODE);

const nodes = new Set();
const edges = new Set();
for (const module of result.modules) {
  const from = folder(module.source);
  nodes.add(from);
  for (const dependency of module.dependencies) {
    if (!dependency.resolved.startsWith('src/')) continue;
    const to = folder(dependency.resolved);
    nodes.add(to);
    if (to !== from) edges.add(`${from}\u0000${to}`);
  }
}

const quote = (s) => JSON.stringify(s);
const dot = [
  'digraph keyward {',
  '  graph [rankdir=TB, ranksep=0.55, nodesep=0.35, fontname="Helvetica", bgcolor="white",',
  '         label="src/: an arrow points from a folder to one it imports (light: into common/ and config/, or out of the wiring)", labelloc=b, fontsize=11];',
  '  node [shape=box, style="rounded,filled", fillcolor="#f3f4f6", color="#4b5563", fontname="Helvetica", fontsize=12];',
  '  edge [color="#6b7280", arrowsize=0.6];',
  `  ${quote(ROOT_NODE)} [label="src/*.ts\\n(main, app.module, app.factory)", fillcolor="#e0f2fe"];`,
  '  access [fillcolor="#fef3c7"];',
  ...[...nodes].sort().map((n) => `  ${quote(n)};`),
  `  { rank=sink; ${SHARED.map(quote).join('; ')}; }`,
  ...[...edges].sort().map((e) => {
    const [from, to] = e.split('\u0000');
    // Arrows into the shared folders and out of the wiring are drawn light, so the arrows between
    // features stand out.
    const light = SHARED.includes(to) || from === ROOT_NODE || from === 'scripts';
    return `  ${quote(from)} -> ${quote(to)}${light ? ' [color="#cbd5e1"]' : ''};`;
  }),
  '}',
  '',
].join('\n');

const graphviz = await Graphviz.load();
// Graphviz's own comment lines carry its version and the graph's title: kept, they are stable.
writeFileSync(OUTPUT, graphviz.dot(dot, 'svg'));
console.log(`${OUTPUT}: ${nodes.size} folders, ${edges.size} arrows`);
