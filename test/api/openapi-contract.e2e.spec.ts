import { describe, expect, it } from 'vitest';
import { contract, OpenApiContract, type OpenApiDocument } from '../support/openapi-contract.js';

/** A small document with the shapes the real one uses: component refs, nullable, formats, headers. */
const DOC: OpenApiDocument = {
  paths: {
    '/things': {
      post: {
        operationId: 'createThing',
        responses: {
          '201': {
            description: 'created',
            headers: { 'X-Trace-Id': { $ref: '#/components/headers/X-Trace-Id' } },
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Thing' } } },
          },
          '400': {
            description: 'bad',
            headers: { 'X-Trace-Id': { $ref: '#/components/headers/X-Trace-Id' } },
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
          },
        },
      },
    },
    '/things/{id}': {
      delete: {
        operationId: 'deleteThing',
        responses: {
          '204': {
            description: 'gone',
            headers: {
              'X-Trace-Id': { $ref: '#/components/headers/X-Trace-Id' },
              'X-Count': { schema: { type: 'integer', minimum: 0 } },
            },
          },
        },
      },
    },
    '/things/special': {
      get: { operationId: 'special', responses: { '200': { description: 'ok' } } },
    },
  },
  components: {
    headers: { 'X-Trace-Id': { required: true, schema: { type: 'string', minLength: 8 } } },
    schemas: {
      Thing: {
        type: 'object',
        required: ['id', 'note', 'at'],
        properties: {
          id: { type: 'string', format: 'uuid', example: '123e4567-e89b-12d3-a456-426614174000' },
          note: { type: 'string', nullable: true },
          at: { type: 'string', format: 'date-time' },
        },
      },
      Error: { type: 'object', required: ['error'], properties: { error: { type: 'string' } } },
    },
  },
};

const ID = '123e4567-e89b-12d3-a456-426614174000';
const json = (status: number, body: unknown, headers: Record<string, string> = { 'x-trace-id': 'abcdef123456' }) => ({
  status,
  headers: new Headers({ 'content-type': 'application/json; charset=utf-8', ...headers }),
  text: JSON.stringify(body),
});

describe('the OpenAPI contract check of the e2e client', () => {
  const c = new OpenApiContract(DOC);

  it('accepts an answer the document describes (nullable, formats, $ref)', () => {
    expect(c.problems('POST', '/things', json(201, { id: ID, note: null, at: '2030-01-01T00:00:00Z' }))).toEqual([]);
    expect(
      c.problems('DELETE', `/things/${ID}?x=1`, {
        status: 204,
        headers: new Headers({ 'x-trace-id': 'abcdef123456' }),
        text: '',
      }),
    ).toEqual([]);
  });

  it('reads integer headers as OpenAPI does (text on the wire)', () => {
    const answer = (count: string) => ({
      status: 204,
      headers: new Headers({ 'x-trace-id': 'abcdef123456', 'x-count': count }),
      text: '',
    });
    expect(c.problems('DELETE', `/things/${ID}`, answer('3'))).toEqual([]);
    expect(c.problems('DELETE', `/things/${ID}`, answer('three')).join()).toMatch(/header X-Count=three/);
    expect(c.problems('DELETE', `/things/${ID}`, answer('-1')).join()).toMatch(/header X-Count=-1/);
  });

  it('refuses a status the operation does not list', () => {
    const problems = c.problems('POST', '/things', json(409, { error: 'taken' }));
    expect(problems.join()).toMatch(/POST \/things \(createThing\) answered 409, which the document does not list/);
  });

  it('refuses a body that does not match the schema', () => {
    expect(c.problems('POST', '/things', json(201, { id: 'nope', note: 1, at: 'yesterday' })).join()).toMatch(
      /does not match the documented schema.*format "uuid"/,
    );
    expect(c.problems('POST', '/things', json(400, { error: { code: 'x' } })).join()).toMatch(/must be string/);
  });

  it('refuses a missing declared header, an undocumented body and a missing one', () => {
    expect(c.problems('POST', '/things', json(400, { error: 'x' }, {})).join()).toMatch(/header X-Trace-Id is missing/);
    expect(c.problems('DELETE', `/things/${ID}`, json(204, { surprise: true })).join()).toMatch(
      /body of type "application\/json" is not documented/,
    );
    expect(
      c
        .problems('POST', '/things', { status: 201, headers: new Headers({ 'x-trace-id': 'abcdef123456' }), text: '' })
        .join(),
    ).toMatch(/empty body/);
  });

  it('matches literal segments before templated ones, and skips what the document does not have', () => {
    expect(c.operationFor('GET', '/things/special')?.operation.operationId).toBe('special');
    expect(c.operationFor('DELETE', '/things/special')?.operation.operationId).toBe('deleteThing');
    expect(c.problems('GET', '/docs', json(500, 'anything'))).toEqual([]);
    expect(c.problems('PUT', '/things', json(500, 'anything'))).toEqual([]);
  });

  it('loads the committed document and compiles every response schema in it', () => {
    const real = contract();
    for (const [path, item] of Object.entries(real.document.paths)) {
      for (const [method, op] of Object.entries(item)) {
        for (const status of Object.keys(op.responses ?? {})) {
          const url = path.replace(/\{[^}]+\}/g, ID);
          // Any body: the point is that the schema compiles (a `nullable` without a `type` would not).
          expect(() => real.problems(method, url, json(Number(status), {}))).not.toThrow();
        }
      }
    }
    for (const name of Object.keys(real.document.components?.schemas ?? {})) {
      expect(() => real.schema(name), name).not.toThrow();
    }
  });
});
