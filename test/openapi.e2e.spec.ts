import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildOpenApiDocument } from '../src/common/openapi.js';
import { client, type Client, startApp, type TestApp } from './support/app.js';

const SCHEMES = ['bearer', 'x-token', 'x-api-key', 'x-project-token'];
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

let t: TestApp;
let api: Client;

beforeAll(async () => {
  t = await startApp();
  api = client(t.url);
});
afterAll(async () => t?.close());

interface Operation {
  operationId?: string;
  security?: Array<Record<string, string[]>>;
}

function operations(doc: { paths: Record<string, Record<string, unknown>> }) {
  const ops: Array<{ method: string; path: string; op: Operation }> = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      if (item[method]) ops.push({ method, path, op: item[method] as Operation });
    }
  }
  return ops;
}

describe('OpenAPI', () => {
  it('serves the document at /openapi.json, equal to the one built from the code', async () => {
    const res = await api.get('/openapi.json', { token: null });
    expect(res.status).toBe(200);
    expect(res.body).toEqual(JSON.parse(JSON.stringify(buildOpenApiDocument(t.app))));
  });

  it('serves Swagger UI at /docs', async () => {
    const res = await api.get('/docs', { token: null });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    expect(res.text).toContain('swagger-ui');
  });

  it('declares the four header security schemes', async () => {
    const doc = (await api.get('/openapi.json', { token: null })).body;
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual([...SCHEMES].sort());
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.components.securitySchemes['x-token']).toMatchObject({ type: 'apiKey', in: 'header', name: 'X-Token' });
    expect(doc.components.securitySchemes['x-api-key']).toMatchObject({ in: 'header', name: 'X-API-Key' });
    expect(doc.components.securitySchemes['x-project-token']).toMatchObject({ in: 'header', name: 'X-Project-Token' });
  });

  it('documents security on exactly the operations that refuse an anonymous caller', async () => {
    const doc = (await api.get('/openapi.json', { token: null })).body;
    const ops = operations(doc);
    expect(ops.length).toBeGreaterThan(0);
    for (const { method, path, op } of ops) {
      const url = path.replace(/\{[^}]+\}/g, '00000000-0000-4000-8000-000000000000');
      const res = await api.call(method.toUpperCase(), url, { token: null, body: method === 'get' ? undefined : {} });
      const declared = (op.security ?? []).flatMap((s) => Object.keys(s)).sort();
      if (res.status === 401) {
        expect(declared, `${method} ${path} is protected`).toEqual([...SCHEMES].sort());
      } else {
        expect(declared, `${method} ${path} answered ${res.status} without a token`).toEqual([]);
      }
    }
  });

  it('has a unique operationId on every operation', async () => {
    const doc = (await api.get('/openapi.json', { token: null })).body;
    const ids = operations(doc).map(({ op }) => op.operationId);
    expect(ids.every((id) => typeof id === 'string' && id.length > 0)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
