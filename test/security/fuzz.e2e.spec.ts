import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { TokenCodec } from '../../src/verification/token-codec.js';
import { ADMIN_TOKEN, errorOf, type Res, useApp } from '../support/app.js';
import { ROOT } from '../support/build.js';

/**
 * Property-based fuzzing of every operation in the committed openapi/openapi.json: bodies shaped after
 * each operation's schema with wrong types, nulls, NUL bytes, huge and negative numbers, odd dates and
 * bad cursors mixed in; odd query strings and path parameters (long, NUL, bad percent-encoding).
 * Whatever comes in: never a 5xx (503 aside, which is not expected here either), and every error is
 * the envelope with the X-Trace-Id header equal to its trace_id. Runtime is bounded: each operation
 * gets a fixed number of runs and a time budget.
 */
type Schema = {
  $ref?: string;
  type?: string;
  format?: string;
  enum?: unknown[];
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
  minimum?: number;
  maximum?: number;
  allOf?: Schema[];
};
interface Parameter {
  in: 'path' | 'query' | 'header';
  name: string;
  schema?: Schema;
}
interface Operation {
  operationId: string;
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema: Schema }> };
}

const doc = JSON.parse(readFileSync(join(ROOT, 'openapi/openapi.json'), 'utf8')) as {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
};
const METHODS = ['get', 'post', 'put', 'patch', 'delete'];
const operations = Object.entries(doc.paths).flatMap(([path, item]) =>
  METHODS.filter((m) => item[m]).map((method) => ({ method, path, op: item[method] })),
);

const RUNS = Number(process.env.KEYWARD_FUZZ_RUNS ?? 20);
/** Per operation; 24 operations stay well under a minute even on a busy machine. */
const TIME_BUDGET_MS = 1_800;

const known: { projectId: string; tokenId: string; projectTokenId: string } = {
  projectId: '',
  tokenId: '',
  projectTokenId: '',
};

const t = useApp();
const api = t.api;

beforeAll(async () => {
  const project = await api.post('/v1/projects', { name: 'fuzz-project' });
  known.projectId = project.body.id;
  known.tokenId = (await api.post('/api-token/create', { access: 'read' })).body.id;
  known.projectTokenId = (
    await api.post(`/v1/projects/${known.projectId}/tokens`, { name: 'fuzz-token', permissions: ['read:*'] })
  ).body.id;
});

const resolve = (s: Schema): Schema => {
  if (s.$ref) return resolve(doc.components.schemas[s.$ref.split('/').pop()!]);
  if (s.allOf?.length === 1) return resolve(s.allOf[0]);
  return s;
};

const cursorOf = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const ODD_DATES = [
  '2030-02-30T00:00:00Z',
  '2030-12-31T23:59:60Z',
  '0000-01-01T00:00:00.000Z',
  '-000001-01-01T00:00:00.000Z',
  '+275760-09-13T00:00:00.000Z',
  '9999-12-31T23:59:59.999Z',
  '1970-01-01T00:00:00Z',
  '2030-12-31T23:59:59+99:99',
  '2030-13-01T00:00:00Z',
  'Invalid Date',
];
const oddDate = fc.oneof(
  fc.constantFrom(...ODD_DATES),
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  fc
    .tuple(fc.integer({ min: 0, max: 99999 }), fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 99 }))
    .map(
      ([y, m, d]) =>
        `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}T23:59:60Z`,
    ),
);
const badCursor = fc.oneof(
  fc
    .record({ c: oddDate, i: fc.oneof(fc.uuid(), fc.string()), d: fc.constantFrom('asc', 'desc', 'up', null) })
    .map(cursorOf),
  fc.string({ maxLength: 40 }).map(cursorOf),
  fc.base64String({ maxLength: 60 }),
  fc.constantFrom('', '%', '\u0000', 'null', cursorOf(null), cursorOf([1, 2]), cursorOf({ c: 1e20, i: 7 })),
);
const oddString = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    '\u0000',
    'a\u0000b',
    '\ud800',
    '%00',
    '../..',
    '1h',
    '-1s',
    '0s',
    '99999999999d',
    '30d1h',
    'null',
  ),
  fc.string({ maxLength: 30 }),
  fc.string({ maxLength: 10, unit: 'binary' }),
  fc.string({ maxLength: 10 }).map((s) => `${s}\u0000${s}`),
  fc.constant('x'.repeat(5000)),
  oddDate,
  badCursor,
  fc.uuid(),
);
const oddNumber = fc.oneof(
  fc.constantFrom(0, -1, 1, 2 ** 31, -(2 ** 31) - 1, 2 ** 53 + 2, -(2 ** 63), 1e308, -1e308, 0.5, 1e-300),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);
const leaf = fc.oneof(oddString, oddNumber, fc.boolean(), fc.constant(null));
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: leaf },
  { weight: 1, arbitrary: fc.array(leaf, { maxLength: 4 }) },
  { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 8 }), leaf, { maxKeys: 3 }) },
);

/** A value that fits the schema most of the time, an odd one otherwise. */
function valueFor(schema: Schema, depth = 0): fc.Arbitrary<unknown> {
  const s = resolve(schema);
  let good: fc.Arbitrary<unknown>;
  if (s.enum) good = fc.constantFrom(...s.enum);
  else if (s.format === 'uuid')
    good = fc.oneof(fc.constantFrom(known.tokenId, known.projectTokenId, known.projectId), fc.uuid());
  else if (s.format === 'date-time')
    good = fc
      .date({ min: new Date(Date.now() + 86_400_000), max: new Date('2100-01-01'), noInvalidDate: true })
      .map((d) => d.toISOString());
  else if (s.type === 'integer' || s.type === 'number')
    good = fc.integer({ min: s.minimum ?? -1000, max: Math.min(s.maximum ?? 1000, 1000) });
  else if (s.type === 'boolean') good = fc.boolean();
  else if (s.type === 'array' && s.items)
    good = depth > 3 ? fc.constant([]) : fc.array(valueFor(s.items, depth + 1), { maxLength: 3 });
  else if (s.properties && depth <= 3) good = objectFor(s, depth + 1);
  else good = fc.oneof(fc.string({ minLength: 1, maxLength: 12 }), fc.constantFrom('fuzz-project', known.projectId));
  return fc.oneof({ weight: 3, arbitrary: good }, { weight: 2, arbitrary: anyValue });
}

function objectFor(schema: Schema, depth = 0): fc.Arbitrary<Record<string, unknown>> {
  const s = resolve(schema);
  const props = s.properties ?? {};
  const record = fc.record(Object.fromEntries(Object.entries(props).map(([k, v]) => [k, valueFor(v, depth)])), {
    requiredKeys: (s.required ?? []).filter((k) => k in props),
  });
  return fc
    .tuple(record, fc.option(fc.tuple(fc.string({ maxLength: 8 }), anyValue), { freq: 5 }))
    .map(([o, extra]) => (extra ? { ...o, [extra[0]]: extra[1] } : o));
}

/** encodeURIComponent, except that a lone surrogate becomes the (invalid) UTF-8 bytes it would have. */
function encode(text: string): string {
  return text.replace(/[\s\S]/gu, (ch) => {
    const code = ch.codePointAt(0)!;
    if (code >= 0xd800 && code <= 0xdfff) {
      return [0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f)]
        .map((b) => `%${b.toString(16).toUpperCase()}`)
        .join('');
    }
    return encodeURIComponent(ch);
  });
}

const pathValue = fc.oneof(
  { weight: 4, arbitrary: fc.constant('KNOWN') },
  { weight: 2, arbitrary: fc.uuid() },
  { weight: 3, arbitrary: oddString.map(encode) },
  { weight: 1, arbitrary: fc.constantFrom('%E0%A4%A', '%', '%zz', 'a'.repeat(300), '%00', '..%2F..') },
);
const queryValue = fc.oneof(
  oddString.map(encode),
  oddNumber.map((n) => encode(String(n))),
  fc.constantFrom('%E0%A4%A', '%', '', '1e999', '-0', '0x10', '1&last=2', '%00'),
);
const credential = fc.oneof(
  { weight: 6, arbitrary: fc.constant<string | null>(ADMIN_TOKEN) },
  { weight: 1, arbitrary: fc.constant<string | null>(null) },
  { weight: 1, arbitrary: fc.constant<string | null>(new TokenCodec('kw_').generate().token) },
  { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 20 }).map((s) => s.replace(/\s/g, '_') || 'x') },
);

/** `KNOWN` in a path: the id of a real row of the right kind (known ids exist only once the app runs). */
function knownIdFor(param: string, path: string): string {
  if (param === 'projectID') return known.projectId;
  return /project_tokens|projects/.test(path) ? known.projectTokenId : known.tokenId;
}

function checkResponse(res: Res, what: string) {
  expect(res.status, `${what} → ${res.status} ${res.text.slice(0, 300)}`).toBeLessThan(500);
  expect(res.headers.get('x-trace-id'), what).toBeTruthy();
  if (res.status >= 400) errorOf(res);
}

describe('fuzzing every operation in openapi/openapi.json: no 5xx, every error an envelope', () => {
  it('covers every operation', () => {
    expect(operations.length).toBeGreaterThanOrEqual(20);
  });

  it.each(operations.map((o) => [`${o.method.toUpperCase()} ${o.path}`, o] as const))(
    '%s',
    async (_, { method, path, op }) => {
      const params = op.parameters ?? [];
      const pathParams = params.filter((p) => p.in === 'path');
      const queryParams = params.filter((p) => p.in === 'query');
      const bodySchema = op.requestBody?.content['application/json']?.schema;
      const body: fc.Arbitrary<unknown> = bodySchema
        ? fc.oneof({ weight: 8, arbitrary: objectFor(bodySchema) }, { weight: 1, arbitrary: anyValue })
        : fc.constant(undefined);
      const request = fc.record({
        path: fc.tuple(...pathParams.map(() => pathValue), fc.constant(null)),
        query: fc.tuple(...queryParams.map(() => fc.option(queryValue, { freq: 2 })), fc.constant(null)),
        body,
        token: credential,
      });
      await fc.assert(
        fc.asyncProperty(request, async (r) => {
          let url = path;
          pathParams.forEach((p, i) => {
            const v = r.path[i] as string;
            url = url.replace(`{${p.name}}`, v === 'KNOWN' ? knownIdFor(p.name, path) : v);
          });
          const query = queryParams
            .map((p, i) => (r.query[i] === null ? null : `${p.name}=${r.query[i] as string}`))
            .filter((q): q is string => q !== null);
          if (query.length) url += `?${query.join('&')}`;
          const res = await api.call(method.toUpperCase(), url, {
            token: r.token,
            ...(r.body !== undefined ? { body: r.body } : {}),
          });
          checkResponse(res, `${method.toUpperCase()} ${url} ${JSON.stringify(r.body)?.slice(0, 300)}`);
        }),
        { numRuns: RUNS, interruptAfterTimeLimit: TIME_BUDGET_MS, markInterruptAsFailure: false },
      );
    },
  );
});
