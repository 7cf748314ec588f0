/**
 * `npm run docs`: writes the generated parts of docs/ (see docs.ts): docs/operations/configuration.md,
 * and the route tables of every page under docs/ that has `<!-- routes: … -->` blocks.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatMarkdown, type OpenApiLike, renderConfiguration, renderRouteBlocks } from './docs.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function markdownUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? markdownUnder(path) : name.endsWith('.md') ? [path] : [];
  });
}

const configuration = join(ROOT, 'docs/operations/configuration.md');
writeFileSync(
  configuration,
  await formatMarkdown(renderConfiguration(readFileSync(join(ROOT, '.env.example'), 'utf8')), configuration),
);
console.log(`wrote ${configuration}`);
const document = JSON.parse(readFileSync(join(ROOT, 'openapi/openapi.json'), 'utf8')) as OpenApiLike;
for (const page of markdownUnder(join(ROOT, 'docs'))) {
  const before = readFileSync(page, 'utf8');
  const after = await formatMarkdown(renderRouteBlocks(before, document), page);
  if (after !== before) {
    writeFileSync(page, after);
    console.log(`updated the route tables of ${page}`);
  }
}
