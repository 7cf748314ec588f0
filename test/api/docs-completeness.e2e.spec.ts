import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ALL_PERMISSIONS } from '../../src/access/permissions.js';
import { MetricsService } from '../../src/metrics/metrics.service.js';
import {
  CONFIG_VARIABLES,
  formatMarkdown,
  type OpenApiLike,
  operationsOf,
  renderConfiguration,
  renderRouteBlocks,
} from '../../src/scripts/docs.js';
import { useApp } from '../support/app.js';
import { TEST_DB_MODE } from '../support/db.js';
import { ROOT } from '../support/process.js';

/**
 * docs/ against the code, both ways: every route of openapi/openapi.json, every variable of the config
 * schema, every metric of the metrics registry and every permission of the enum is documented, and
 * everything docs/ names as a route, variable, metric or permission still exists. The generated parts
 * (configuration reference, route tables) must be current: `npm run docs` rewrites them.
 */
function markdownUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? markdownUnder(path) : name.endsWith('.md') ? [path] : [];
  });
}

const DOCS = join(ROOT, 'docs');
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const pages = markdownUnder(DOCS).map((path) => ({ path, text: readFileSync(path, 'utf8') }));
const all = pages.map((p) => p.text).join('\n');
const document = JSON.parse(readFileSync(join(ROOT, 'openapi/openapi.json'), 'utf8')) as OpenApiLike;
const operations = operationsOf(document);

/** `/v1/projects/{projectID}`, `/v1/projects/{id}`, `/v1/projects/:projectID` → `/v1/projects/{}`. */
const shape = (path: string) => path.replace(/\{[^}]*\}|:[A-Za-z]+/g, '{}');
const documentedShapes = new Set(operations.map((o) => `${o.method} ${shape(o.path)}`));

/** Served outside the OpenAPI document (Swagger UI and the document itself). */
const NOT_IN_OPENAPI = new Set(['GET /docs', 'GET /openapi.json', 'GET /openapi.yaml']);

/** Names that look like configuration but are not the service's: shell and compose variables, test knobs. */
const NOT_CONFIG = new Set([
  'KEYWARD_URL', // the quick start's shell variable
  'KEYWARD_TOKEN', // a guide's shell variable holding a token
  'KEYWARD_WEBHOOK_SECRET', // the webhook guide's receiver: its endpoint's signing secret
  'KEYWARD_BIND', // docker-compose.yml: where the port is published
  'KEYWARD_PORT', // docker-compose.yml: the published port
  'KEYWARD_CHROMIUM', // the browser test's chromium binary
  'KEYWARD_TEST_DB',
  'KEYWARD_TEST_PG_URL',
  'KEYWARD_SKIP_BUILD',
  'KEYWARD_FUZZ_RUNS',
  'KEYWARD_AUTHZ_RUNS',
  'KEYWARD_AUTHZ_COMMANDS',
  'KEYWARD_AUTHZ_SEED',
  'KEYWARD_AUTHZ_SURVEY',
]);

describe('docs/ covers the API', () => {
  it('every operation of openapi/openapi.json is in docs/ as `METHOD /path`', () => {
    const missing = operations.map((o) => `${o.method} ${o.path}`).filter((route) => !all.includes(route));
    expect(missing).toEqual([]);
  });

  it('every `METHOD /path` that docs/ names is an operation (or Swagger UI and the document)', () => {
    // The whole path as written (a query string, sentence punctuation and `<placeholders>` aside).
    const named = [...all.matchAll(/\b(GET|POST|PUT|PATCH|DELETE|HEAD) (\/[^\s`)\]|\\,;?*"']*)/g)]
      .map(([, method, path]) => [method, path.replace(/[.:]+$/, '')])
      .filter(([, path]) => !path.includes('<') && !path.endsWith('/'));
    const unknown = named
      .map(([method, path]) => `${method === 'HEAD' ? 'GET' : method} ${shape(path)}`)
      .filter((route) => !documentedShapes.has(route) && !NOT_IN_OPENAPI.has(route));
    expect([...new Set(unknown)]).toEqual([]);
  });

  it('each route table is current (`npm run docs`), with the permission of every operation', async () => {
    for (const page of pages) {
      expect(await formatMarkdown(renderRouteBlocks(page.text, document), page.path), page.path).toBe(page.text);
    }
    for (const o of operations) {
      const permission = o.op['x-keyward-permission'];
      if (permission)
        expect(all).toMatch(new RegExp(`\\| \`${o.method} ${escape(o.path)}\` +\\| \`${escape(permission)}\``));
    }
  });

  it('every permission of the enum is documented, and every documented permission exists', () => {
    const api = readFileSync(join(DOCS, 'api/README.md'), 'utf8');
    for (const permission of ALL_PERMISSIONS) expect(api).toMatch(new RegExp(`\\| \`${escape(permission)}\` +\\|`));
    const named = new Set([...all.matchAll(/`((?:create|read|update|delete):(?:\*|[a-z_]+))`/g)].map((m) => m[1]));
    expect([...named].filter((p) => !(ALL_PERMISSIONS as string[]).includes(p))).toEqual([]);
  });
});

describe('docs/ covers the configuration', () => {
  it('docs/operations/configuration.md is generated from the config schema and is current', async () => {
    const page = readFileSync(join(DOCS, 'operations/configuration.md'), 'utf8');
    const path = join(DOCS, 'operations/configuration.md');
    const generated = renderConfiguration(readFileSync(join(ROOT, '.env.example'), 'utf8'));
    expect(page).toBe(await formatMarkdown(generated, path));
    for (const name of CONFIG_VARIABLES) expect(page).toMatch(new RegExp(`\\| \`${name}\` +\\|`));
  });

  it('every variable docs/ and the README name is one the service reads (or a known shell/test variable)', () => {
    const text = all + readFileSync(join(ROOT, 'README.md'), 'utf8');
    const named = new Set([...text.matchAll(/\b((?:KEYWARD|DATABASE)_[A-Z0-9_]*[A-Z0-9])\b/g)].map((m) => m[1]));
    const unknown = [...named].filter((n) => !CONFIG_VARIABLES.includes(n) && !NOT_CONFIG.has(n));
    expect(unknown).toEqual([]);
  });
});

describe('docs/ covers the metrics', () => {
  const t = useApp();
  let registered: string[];
  beforeAll(async () => {
    registered = (await t.app.get(MetricsService).registry.getMetricsAsJSON())
      .map((m) => m.name)
      .filter((name) => name.startsWith('keyward_'));
  }, 180_000);

  it('every keyward_ metric of the registry is in docs/operations/metrics.md', () => {
    const page = readFileSync(join(DOCS, 'operations/metrics.md'), 'utf8');
    expect(registered.length).toBeGreaterThan(10);
    expect(registered.filter((name) => !page.includes(`\`${name}\``))).toEqual([]);
  });

  it('every keyward_ metric docs/ names is registered (pool metrics: PostgreSQL only)', () => {
    const lines = all.split('\n');
    const unknown = new Set<string>();
    for (const line of lines) {
      for (const [, name] of line.matchAll(/(?<![$\w])(keyward_[a-z0-9_]+)\b/g)) {
        const base = name.replace(/_(bucket|sum|count)$/, '');
        if (registered.includes(name) || registered.includes(base)) continue;
        if (TEST_DB_MODE === 'pglite' && line.includes('PostgreSQL only')) continue;
        // Not metrics: PostgreSQL notification channels and the listener's names.
        const channels = [
          'keyward_token_changed',
          'keyward_project_changed',
          'keyward_listener_heartbeat',
          'keyward_invalidation_barrier',
          'keyward_invalidation_ack',
        ];
        if (channels.includes(name)) continue;
        unknown.add(name);
      }
    }
    expect([...unknown]).toEqual([]);
  });
});
