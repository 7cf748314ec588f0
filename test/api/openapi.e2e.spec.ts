import { describe, expect, it } from 'vitest';
import { buildOpenApiDocument } from '../../src/common/openapi/openapi.js';
import { useApp } from '../support/app.js';

const SCHEMES = ['bearer', 'x-token', 'x-api-key', 'x-project-token'];
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

const t = useApp();
const api = t.api;

/** Swagger UI's prefill for a schema without a media-type example: property examples, defaults, first enum values. */
function sample(doc: any, schema: any): unknown {
  if (!schema) return undefined;
  if (schema.$ref) return sample(doc, doc.components.schemas[schema.$ref.split('/').pop()]);
  if (schema.allOf) return Object.assign({}, ...schema.allOf.map((s: unknown) => sample(doc, s)));
  if (schema.example !== undefined) return schema.example;
  if (schema.default !== undefined) return schema.default;
  if (schema.enum) return schema.enum[0];
  if (schema.type === 'array') return [sample(doc, schema.items)];
  if (schema.type === 'object' || schema.properties) {
    return Object.fromEntries(Object.entries(schema.properties ?? {}).map(([k, v]) => [k, sample(doc, v)]));
  }
  return { string: 'string', integer: 0, number: 0, boolean: true }[schema.type as string];
}

interface Operation {
  operationId?: string;
  summary?: string;
  description?: string;
  tags?: string[];
  security?: Array<Record<string, string[]>>;
  parameters?: Array<{ name: string; in: string; schema?: { type?: string; format?: string } }>;
  requestBody?: {
    required?: boolean;
    content: Record<string, { schema?: unknown; examples?: Record<string, { value: unknown }> }>;
  };
  responses: Record<string, { headers?: Record<string, unknown>; content?: Record<string, { example?: any }> }>;
  'x-alias-of'?: string;
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

  it('serves Swagger UI at /docs, without the /api-token/* aliases', async () => {
    const res = await api.get('/docs', { token: null });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    expect(res.text).toContain('swagger-ui');
    const init = await api.get('/docs/swagger-ui-init.js', { token: null });
    expect(init.status).toBe(200);
    expect(init.text).toContain('"/publisher.v1/api-token/create"');
    expect(init.text).not.toContain('"/api-token/create"');
  });

  it('marks the /api-token/* operations as aliases of the /publisher.v1/api-token/* ones, which keep working', async () => {
    const doc = (await api.get('/openapi.json', { token: null })).body;
    const aliases = operations(doc).filter(({ path }) => path.startsWith('/api-token/'));
    expect(aliases.map(({ path }) => path)).toEqual(
      expect.arrayContaining(['/api-token/create', '/api-token/list', '/api-token/revoke', '/api-token/rotate']),
    );
    for (const { path, op } of aliases) {
      expect(op['x-alias-of']).toBe(`/publisher.v1${path}`);
      expect(op.description).toMatch(/^Alias of/);
    }
    expect(operations(doc).filter(({ op }) => op['x-alias-of'])).toHaveLength(aliases.length);
    expect((await api.post('/api-token/list', {})).status).toBe(200);
  });

  it('describes every operation (operationId, summary, description, a described tag) and every public one as public', async () => {
    const doc = (await api.get('/openapi.json', { token: null })).body;
    const tags = new Map(
      (doc.tags as Array<{ name: string; description?: string }>).map((t) => [t.name, t.description]),
    );
    expect(doc.servers.length).toBeGreaterThan(0);
    for (const { method, path, op } of operations(doc)) {
      const where = `${method} ${path}`;
      expect(op.summary, where).toBeTruthy();
      expect(op.description, where).toBeTruthy();
      expect(op.tags?.length, where).toBeGreaterThan(0);
      for (const tag of op.tags ?? []) expect(tags.get(tag), `tag ${tag}`).toBeTruthy();
      expect(Array.isArray(op.security), `${where} states its security (security: [] when public)`).toBe(true);
    }
    expect(doc.components.securitySchemes.bearer.bearerFormat).toBeUndefined();
  });

  it('declares X-Trace-Id on every response, and the uuid format on every id path parameter', async () => {
    const doc = (await api.get('/openapi.json', { token: null })).body;
    expect(doc.components.headers['X-Trace-Id']).toMatchObject({ required: true, schema: { type: 'string' } });
    for (const { method, path, op } of operations(doc)) {
      for (const [status, response] of Object.entries(op.responses)) {
        expect(response.headers?.['X-Trace-Id'], `${method} ${path} ${status}`).toEqual({
          $ref: '#/components/headers/X-Trace-Id',
        });
      }
      // Every path parameter is an id, except a tokens-file entry's name.
      for (const p of (op.parameters ?? []).filter(
        (x) => x.in === 'path' && !(path.includes('/tokens-file/') && x.name === 'name'),
      )) {
        expect(p.schema, `${method} ${path} ${p.name}`).toMatchObject({ type: 'string', format: 'uuid' });
      }
    }
  });

  it('documents 400, 413 and 415 wherever a body is read, and requires a body only when it has required fields', async () => {
    const doc = (await api.get('/openapi.json', { token: null })).body;
    for (const { method, path, op } of operations(doc)) {
      if (!op.requestBody) continue;
      expect(Object.keys(op.responses), `${method} ${path}`).toEqual(expect.arrayContaining(['400', '413', '415']));
    }
    expect(doc.paths['/publisher.v1/api-token/list'].post.requestBody.required).toBe(false);
    expect(doc.paths['/v1/tokens/{tokenID}/rotate'].post.requestBody.required).toBe(false);
    expect(doc.paths['/publisher.v1/api-token/create'].post.requestBody.required).toBe(true);
    const create = doc.components.schemas.CreateApiTokenDto.properties;
    expect(create.description).toMatchObject({ type: 'string', nullable: true });
    expect(create.expires_at).toMatchObject({ type: 'string', format: 'date-time', nullable: true });
    const params = (p: string, name: string) =>
      doc.paths[p].get.parameters.find((x: { name: string }) => x.name === name).schema;
    expect(params('/v1/projects', 'limit').type).toBe('integer');
    expect(params('/v1/projects/{projectID}/tokens', 'last').type).toBe('integer');
  });

  it('gives each error status its own example, in the envelope the service writes for it', async () => {
    const doc = (await api.get('/openapi.json', { token: null })).body;
    const codes = new Map<string, Set<string>>();
    for (const { op } of operations(doc)) {
      for (const [status, response] of Object.entries(op.responses)) {
        if (Number(status) < 400) continue;
        const example = response.content?.['application/json']?.example;
        if (!example) continue;
        if (!codes.has(status)) codes.set(status, new Set());
        // Publisher envelope `{error: {code}}`, or the Calyptia shape `{error: "<message>", code}`.
        codes.get(status)!.add(typeof example.error === 'string' ? example.code : example.error.code);
      }
    }
    expect(Object.fromEntries([...codes].map(([k, v]) => [k, [...v]]))).toMatchObject({
      '400': ['bad_request'],
      '401': ['authentication_error'],
      '403': ['authorization_error'],
      '404': ['not_found'],
      '409': ['conflict'],
      '413': ['payload_too_large'],
      '415': ['unsupported_media_type'],
    });
    // And the service answers a 401 exactly as the example says.
    const res = await api.post('/publisher.v1/api-token/list', {}, { token: null });
    const example = doc.paths['/publisher.v1/api-token/list'].post.responses['401'].content['application/json'].example;
    expect({ ...res.body.error, trace_id: 'x' }).toEqual({ ...example.error, trace_id: 'x' });
  });

  it('has request examples that succeed as they are (ids put in from earlier answers, as a reader would)', async () => {
    const doc = (await api.get('/openapi.json', { token: null })).body;
    const project = (await api.post('/v1/projects', { name: 'examples-project' })).body;
    const projectToken = (
      await api.post(`/v1/projects/${project.id}/tokens`, { name: 'examples', permissions: ['read:*'] })
    ).body;
    const webhook = (await api.post('/v1/webhooks', { url: 'http://127.0.0.1:9/examples', events: ['token.expired'] }))
      .body;
    const ids: Record<string, string> = { projectID: project.id, tokenID: projectToken.id, webhookID: webhook.id };
    const last = (path: string, method: string) => (method === 'delete' || path.endsWith('/revoke') ? 1 : 0);
    const ops = operations(doc)
      .filter(({ op }) => !op['x-alias-of'])
      .sort((a, b) => last(a.path, a.method) - last(b.path, b.method));
    for (const { method, path, op } of ops) {
      const media = op.requestBody?.content['application/json'];
      // What Swagger UI prefills: the first example, else a sample built from the schema's examples.
      let body = media?.examples
        ? Object.values(media.examples)[0].value
        : media
          ? sample(doc, media.schema)
          : undefined;
      if (body && typeof body === 'object' && 'id' in body) {
        // The Publisher routes name the token in the body: take one made by the create example.
        const created = await api.post('/publisher.v1/api-token/create', { access: 'read' });
        body = { ...body, id: created.body.id };
      }
      // Deleting takes a fresh token (or project) each time, so the other examples keep theirs.
      const target = { ...ids };
      if (method === 'delete' && path.endsWith('{tokenID}')) {
        const fresh = await api.post(`/v1/projects/${project.id}/tokens`, {
          name: `doomed-${path.length}`,
          permissions: ['read:*'],
        });
        target.tokenID = fresh.body.id;
      } else if (method === 'delete' && path.endsWith('{projectID}')) {
        target.projectID = (await api.post('/v1/projects', { name: `doomed-${path.length}` })).body.id;
      }
      const url = path.replace(/\{(\w+)\}/g, (_, name: string) => target[name]);
      const res = await api.call(method.toUpperCase(), url, { body });
      expect(res.status, `${method} ${path} with its example: ${res.text.slice(0, 200)}`).toBeGreaterThanOrEqual(200);
      expect(res.status, `${method} ${path} with its example: ${res.text.slice(0, 200)}`).toBeLessThan(300);
    }
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
