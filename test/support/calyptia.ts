/**
 * Calyptia Cloud's published OpenAPI document (Apache License 2.0, chronosphereio/calyptia-api
 * `spec/open-api.yml`), read from `shared/reference/` beside the repository, and a validator that
 * checks an answer against the operation it documents. Also the client habits of Calyptia's Go client:
 * how it decodes errors and how it finds the next page.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { load } from 'js-yaml';
import type { Res } from './app.js';

const FILE = 'calyptia-cloud-open-api.yml';
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** `shared/` sits beside the clone (CI, the main checkout); a worktree one level deeper also finds it. */
export function calyptiaDocumentPath(): string {
  const candidates = [
    process.env.KEYWARD_CALYPTIA_OPENAPI,
    resolve(ROOT, '../shared/reference', FILE),
    resolve(ROOT, '../../shared/reference', FILE),
    // A vendored copy (Apache License 2.0, see test/fixtures/calyptia/NOTICE), for clones without shared/.
    resolve(ROOT, 'test/fixtures/calyptia', FILE),
  ].filter((p): p is string => !!p);
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`Calyptia's OpenAPI document not found; looked at: ${candidates.join(', ')}`);
  return found;
}

interface Operation {
  operationId: string;
  responses: Record<string, { content?: Record<string, { schema: unknown }> }>;
}

type Document = { paths: Record<string, Record<string, Operation>> };

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

export class CalyptiaSpec {
  readonly doc: Document;
  private readonly ajv: Ajv;
  private readonly compiled = new Map<string, ValidateFunction>();
  private readonly routes: Array<{ template: string; pattern: RegExp }>;

  constructor(path = calyptiaDocumentPath()) {
    this.doc = load(readFileSync(path, 'utf8')) as Document;
    // OpenAPI 3.0 schemas: `nullable` is understood by Ajv; `example` and friends are annotations.
    this.ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(this.ajv);
    this.ajv.addSchema(this.doc as object, 'calyptia');
    this.routes = Object.keys(this.doc.paths).map((template) => ({
      template,
      pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`),
    }));
  }

  /** The documented operation for a request (path without its query). */
  operation(method: string, path: string): Operation & { template: string } {
    const bare = path.split('?')[0];
    const route = this.routes.find((r) => r.pattern.test(bare));
    const op = route && this.doc.paths[route.template][method.toLowerCase()];
    if (!route || !op) throw new Error(`${method} ${bare} is not an operation of Calyptia's document`);
    return { ...op, template: route.template };
  }

  schema(ref: string): ValidateFunction {
    return this.validator(`#/components/schemas/${ref}`);
  }

  private validator(pointer: string): ValidateFunction {
    let v = this.compiled.get(pointer);
    if (!v) {
      v = this.ajv.compile({ $ref: `calyptia${pointer}` });
      this.compiled.set(pointer, v);
    }
    return v;
  }

  /**
   * Checks an answer against Calyptia's document: a success status must be one the operation
   * documents, with a body valid against its schema (no body where it documents none). Calyptia's
   * document declares no error bodies; errors must decode the way its client decodes them.
   * Returns the problems (empty when the answer conforms).
   */
  problems(method: string, path: string, res: Res): string[] {
    const op = this.operation(method, path);
    if (res.status >= 400) {
      const err = decodeCalyptiaError(res.text);
      return err instanceof Error ? [`${op.operationId} ${res.status}: ${err.message}`] : [];
    }
    const documented = op.responses[String(res.status)];
    if (!documented) return [`${op.operationId}: status ${res.status} is not documented`];
    const content = documented.content?.['application/json'];
    if (!content) return res.text === '' ? [] : [`${op.operationId} ${res.status}: documented without a body`];
    const methodKey = method.toLowerCase();
    const pointer = `#/paths/${op.template.replace(/~/g, '~0').replace(/\//g, '~1')}/${methodKey}/responses/${res.status}/content/application~1json/schema`;
    const validate = this.validator(pointer);
    if (validate(res.body)) return [];
    return (validate.errors ?? []).map((e) => `${op.operationId} ${res.status}: ${e.instancePath || '/'} ${e.message}`);
  }
}

/**
 * What Calyptia's Go client does with an error body: decode it into
 * `struct { Msg string "json:\"error\""; Detail *string "json:\"detail\"" }`. A JSON object whose
 * `error` is not a string, or whose `detail` is neither a string nor null, fails to decode.
 */
export function decodeCalyptiaError(text: string): { error: string; detail: string | null } | Error {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return new Error(`could not json decode error response: not JSON: ${text.slice(0, 100)}`);
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    return new Error('could not json decode error response: not an object');
  }
  const { error, detail } = body as { error?: unknown; detail?: unknown };
  if (error !== undefined && typeof error !== 'string') {
    return new Error(`could not json decode error response: error is ${JSON.stringify(error)}, not a string`);
  }
  if (detail !== undefined && detail !== null && typeof detail !== 'string') {
    return new Error(`could not json decode error response: detail is ${JSON.stringify(detail)}, not a string`);
  }
  if (!error) return new Error('the error message is empty');
  return { error, detail: (detail as string | null | undefined) ?? null };
}

/**
 * Calyptia's client: from `Link`, the `before` query parameter of the `rel="next"` link (null when
 * there is none). Parsed link by link as RFC 8288 says, not with a regular expression over the whole.
 */
export function nextLinkBefore(header: string | null): string | null {
  if (!header) return null;
  for (const part of header.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>(.*)$/.exec(part);
    if (!m) continue;
    const params = m[2].split(';').map((p) => p.trim());
    if (!params.some((p) => /^rel="?next"?$/i.test(p))) continue;
    const url = new URL(m[1], 'http://base.invalid');
    if (url.searchParams.has('before')) return url.searchParams.get('before');
  }
  return null;
}
