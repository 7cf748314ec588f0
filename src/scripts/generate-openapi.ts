/**
 * Writes openapi/openapi.json from the code: boots the app on an in-memory PGlite database without
 * listening, builds the same document /openapi.json serves, and writes it with sorted keys so the file
 * only changes when the API does. `npm run openapi` runs it; `npm run openapi:check` fails on a diff.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApp } from '../app.factory.js';
import { buildOpenApiDocument } from '../common/openapi/openapi.js';
import { loadConfig } from '../config/config.schema.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const OUTPUT = resolve(ROOT, 'openapi/openapi.json');

/** Recursively sorts object keys (arrays keep their order: it carries meaning, e.g. enums, tags). */
export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) out[key] = sortKeys((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}

async function main(): Promise<void> {
  const config = loadConfig({
    KEYWARD_DATA_DIR: 'memory://',
    DATABASE_URL: '',
    LOG_LEVEL: 'silent',
    KEYWARD_DOCS_ENABLED: 'false',
  });
  const app = await createApp(config);
  try {
    const document = buildOpenApiDocument(app);
    mkdirSync(dirname(OUTPUT), { recursive: true });
    writeFileSync(OUTPUT, `${JSON.stringify(sortKeys(document), null, 2)}\n`);
    console.log(`wrote ${OUTPUT} (${Object.keys(document.paths).length} paths)`);
  } finally {
    await app.close();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error('generate-openapi failed:', err);
    process.exit(1);
  },
);
