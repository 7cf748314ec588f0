/**
 * Checks an HTTP answer against the committed OpenAPI document (openapi/openapi.json): the status is
 * documented for that operation, the body matches the documented schema, the declared headers are
 * present and well-formed. The e2e client runs every answer through it, so an answer the document does
 * not describe fails the test that provoked it.
 *
 * Schemas are OpenAPI 3.0 schema objects, compiled by Ajv (draft-07, which 3.0's schemas are a
 * variant of): `nullable` is Ajv's own keyword, 3.0's annotation keywords (`example`, ...) are
 * declared as a vocabulary, formats come from ajv-formats.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

export const OPENAPI_FILE = resolve(dirname(fileURLToPath(import.meta.url)), '../../openapi/openapi.json');

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
const DOC_ID = 'openapi.json';

interface MediaType {
  schema?: unknown;
}
interface Header {
  required?: boolean;
  schema?: unknown;
  $ref?: string;
}
interface ResponseObject {
  description?: string;
  headers?: Record<string, Header>;
  content?: Record<string, MediaType>;
  $ref?: string;
}
interface Operation {
  operationId?: string;
  responses?: Record<string, ResponseObject>;
}
export interface OpenApiDocument {
  paths: Record<string, Record<string, Operation>>;
  components?: Record<string, Record<string, unknown>>;
}

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

interface Route {
  template: string;
  regex: RegExp;
  params: number;
  item: Record<string, Operation>;
}

/** RFC 6901 pointer segment, then URI-fragment-encoded (Ajv resolves `$ref`s as URIs). */
function pointer(...segments: string[]): string {
  return segments.map((s) => encodeURIComponent(s.replace(/~/g, '~0').replace(/\//g, '~1'))).join('/');
}

export class OpenApiContract {
  private readonly ajv: Ajv;
  private readonly routes: Route[];
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(readonly document: OpenApiDocument) {
    this.ajv = new Ajv({ strictSchema: false, strictTypes: false, allErrors: true, validateSchema: false });
    addFormats(this.ajv);
    this.ajv.addSchema(document as object, DOC_ID);
    this.routes = Object.entries(document.paths)
      .map(([template, item]) => ({
        template,
        item,
        params: (template.match(/\{[^}]+\}/g) ?? []).length,
        regex: new RegExp(
          `^${template
            .split(/(\{[^}]+\})/)
            .map((part) => (part.startsWith('{') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
            .join('')}$`,
        ),
      }))
      // A literal segment wins over a template one (`/v1/tokens/verify` before `/v1/tokens/{id}`).
      .sort((a, b) => a.params - b.params);
  }

  static fromFile(file = OPENAPI_FILE): OpenApiContract {
    return new OpenApiContract(JSON.parse(readFileSync(file, 'utf8')) as OpenApiDocument);
  }

  /** The documented operation for a request, or undefined when the path (or method) is not in the document. */
  operationFor(method: string, url: string): { template: string; method: string; operation: Operation } | undefined {
    const raw = new URL(url, 'http://x').pathname;
    let path: string;
    try {
      path = decodeURI(raw);
    } catch {
      path = raw; // malformed percent-encoding: matched as sent (the service answers it with a 400 envelope)
    }
    const m = method.toLowerCase();
    for (const route of this.routes) {
      if (!route.regex.test(path)) continue;
      const operation = route.item[m];
      if (operation && (METHODS as readonly string[]).includes(m))
        return { template: route.template, method: m, operation };
    }
    return undefined;
  }

  /**
   * The problems of one answer, as sentences; empty when the document describes it. Requests to paths
   * (or methods) the document does not have (`/docs`, `/openapi.json`, unknown routes) are not checked.
   */
  problems(method: string, url: string, answer: Answer): string[] {
    const found = this.operationFor(method, url);
    if (!found) return [];
    const { template, operation } = found;
    const where = `${found.method.toUpperCase()} ${template} (${operation.operationId ?? 'no operationId'})`;
    const responses = operation.responses ?? {};
    const status = String(answer.status);
    const key = [status, `${status[0]}XX`, 'default'].find((k) => responses[k]);
    if (!key) {
      return [
        `${where} answered ${status}, which the document does not list (it lists ${Object.keys(responses).join(', ')}); ` +
          `body: ${answer.text.slice(0, 200)}`,
      ];
    }
    const response = this.deref<ResponseObject>(responses[key]);
    const out: string[] = [];

    for (const [name, declared] of Object.entries(response.headers ?? {})) {
      const header = this.deref<Header>(declared);
      const value = answer.headers.get(name);
      if (value === null) {
        if (header.required) out.push(`${where} ${status}: declared header ${name} is missing`);
        continue;
      }
      if (header.schema) {
        const validate = this.validator(header.schema, ['headers', template, found.method, key, name]);
        if (!validate(this.headerValue(header.schema, value)))
          out.push(`${where} ${status}: header ${name}=${value}: ${this.ajv.errorsText(validate.errors)}`);
      }
    }

    const contentType = (answer.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
    const content = response.content ?? {};
    if (!answer.text) {
      if (Object.keys(content).length > 0 && method.toUpperCase() !== 'HEAD') {
        out.push(`${where} ${status}: empty body, but the document declares ${Object.keys(content).join(', ')}`);
      }
      return out;
    }
    const media = content[contentType];
    if (!media) {
      out.push(
        `${where} ${status}: body of type "${contentType}" is not documented ` +
          `(declared: ${Object.keys(content).join(', ') || 'no body'}): ${answer.text.slice(0, 200)}`,
      );
      return out;
    }
    if (media.schema && /[/+]json$/.test(contentType)) {
      let body: unknown;
      try {
        body = JSON.parse(answer.text);
      } catch {
        out.push(`${where} ${status}: body is not JSON: ${answer.text.slice(0, 200)}`);
        return out;
      }
      const ref = `${DOC_ID}#/${pointer('paths', template, found.method, 'responses', key, 'content', contentType, 'schema')}`;
      const validate = this.compiledRef(responses[key].$ref ? this.refTo(responses[key].$ref, contentType) : ref);
      if (!validate(body)) {
        out.push(
          `${where} ${status}: body does not match the documented schema: ${this.ajv.errorsText(validate.errors, { separator: '; ' })}` +
            `; body: ${answer.text.slice(0, 300)}`,
        );
      }
    }
    return out;
  }

  /**
   * A header is text on the wire; OpenAPI's `simple` style makes `X-Count: 3` an integer 3. Numbers and
   * booleans are read as such when they look like one (and left as text, to fail, when they do not).
   */
  private headerValue(schema: unknown, value: string): unknown {
    const type = this.deref(schema as { $ref?: string; type?: string }).type;
    if ((type === 'integer' || type === 'number') && /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(value)) return Number(value);
    if (type === 'boolean' && (value === 'true' || value === 'false')) return value === 'true';
    return value;
  }

  /** A validator for a component schema (`#/components/schemas/<name>`); throws when it does not compile. */
  schema(name: string): ValidateFunction {
    return this.compiledRef(`${DOC_ID}#/${pointer('components', 'schemas', name)}`);
  }

  private refTo(responseRef: string, contentType: string): string {
    return `${DOC_ID}${responseRef}/${pointer('content', contentType, 'schema')}`;
  }

  private compiledRef(ref: string): ValidateFunction {
    let validate = this.compiled.get(ref);
    if (!validate) {
      validate = this.ajv.compile({ $ref: ref });
      this.compiled.set(ref, validate);
    }
    return validate;
  }

  private validator(schema: unknown, key: string[]): ValidateFunction {
    const id = key.join(' ');
    let validate = this.compiled.get(id);
    if (!validate) {
      const s = schema as { $ref?: string };
      validate = s.$ref ? this.ajv.compile({ $ref: `${DOC_ID}${s.$ref}` }) : this.ajv.compile(schema as object);
      this.compiled.set(id, validate);
    }
    return validate;
  }

  /** Follows a local `$ref` (`#/components/...`) to its object. */
  private deref<T>(value: T & { $ref?: string }): T {
    if (!value.$ref) return value;
    const parts = value.$ref
      .replace(/^#\//, '')
      .split('/')
      .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
    let node: unknown = this.document;
    for (const p of parts) node = (node as Record<string, unknown>)?.[p];
    if (!node) throw new Error(`unresolvable $ref ${value.$ref}`);
    return this.deref(node as T & { $ref?: string });
  }
}

let shared: OpenApiContract | undefined;

/** The committed document, loaded once per test file. */
export function contract(): OpenApiContract {
  shared ??= OpenApiContract.fromFile();
  return shared;
}
