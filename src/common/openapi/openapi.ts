import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { DATABASE_UNAVAILABLE_MESSAGE } from '../errors/error-envelope.js';
import { VERSION } from '../version.js';

/** OpenAPI extension carrying the one permission an operation requires (also spelled out in its description). */
export const PERMISSION_EXTENSION = 'x-keyward-permission';

const DESCRIPTION = `Keyward issues, scopes, verifies, expires and revokes API tokens.

Authenticate with any one of: \`Authorization: Bearer <token>\`, \`X-Token: <token>\`, \`X-API-Key: <token>\`
or \`X-Project-Token: <token>\`. Errors have the envelope
\`{"error":{"code","message","data","trace_id"}}\`, except on the Calyptia-style routes (\`/v1/projects…\`,
\`/v1/project_tokens…\`), which answer \`{"error":"<message>","detail":"<optional>","code","data","trace_id"}\`
as Calyptia's clients expect; the trace id is also the \`X-Trace-Id\` header, which every
response carries.

The Publisher-style routes are served at \`/publisher.v1/api-token/*\` and, identically, at \`/api-token/*\`;
the document lists both (the aliases carry \`x-alias-of\`), Swagger UI shows only the first.`;

/** Tags, in the order Swagger UI shows them, with their descriptions. */
const TAGS: Array<[name: string, description: string]> = [
  [
    'api-token (Publisher RPC)',
    'Publisher-style RPC: `POST /publisher.v1/api-token/create|list|revoke` with JSON bodies (also at `/api-token/*`).',
  ],
  ['auth tokens (TTL, single-use)', 'TTL tokens: short-lived and single-use tokens created programmatically.'],
  ['projects', 'Calyptia-style projects: the containers project tokens belong to.'],
  ['project tokens', 'Calyptia-style project tokens: REST routes for tokens confined to one project.'],
  ['rotation', 'A new secret for the same token, with an optional grace period for the previous one.'],
  ['tokens by owner', 'Every token of one owner (your id for a customer or service) revoked or disabled in one call.'],
  ['tokens file', 'The tokens created through an operator tokens-file entry (admin token only).'],
  ['verification', 'Other services delegate their token checks here: always 200 with a verdict code.'],
  ['health', 'Liveness (public) and readiness (database checked).'],
  ['operations', 'Prometheus metrics for scrapers.'],
  ['audit', 'Who created, rotated, revoked or changed which token, when and from where (needs `read:audit`).'],
  [
    'forward auth',
    'For gateways (nginx `auth_request`, Traefik ForwardAuth, Caddy `forward_auth`): 2xx/401/403 from headers alone.',
  ],
  [
    'webhooks',
    'Signed (Standard Webhooks) deliveries of token events to your endpoints, retried for 24 h (needs `manage:webhook`).',
  ],
  ['leak reports', 'Anyone who finds a token in a public place reports it here; valid ones are revoked at once.'],
  ['oauth2', 'OAuth 2.0 token introspection (RFC 7662) for gateways and OAuth libraries.'],
];

/** The header every response carries (success or error): the request's trace id. */
const TRACE_ID_HEADER = {
  description: 'Trace id of this request (also `error.trace_id` in an error body); send `X-Request-Id` to choose it',
  required: true,
  schema: { type: 'string', example: '5f0c2a9d81e6b3c4d7a1e2f3' },
};

/** Set on the answers of changes that invalidate cached verifications, with KEYWARD_REVOKE_CONFIRM=all. */
export const INVALIDATION_HEADER_NAME = 'X-Keyward-Invalidation';
/** Marks the operations that may carry INVALIDATION_HEADER_NAME (removed from the finished document). */
export const INVALIDATION_EXTENSION = 'x-keyward-invalidation';
const INVALIDATION_HEADER = {
  description:
    'Only with `KEYWARD_REVOKE_CONFIRM=all`: `confirmed; N of N instances` when every live instance ' +
    'sharing the database acknowledged that it dropped the cached results before this answer (none of ' +
    'them accepts the old rights any more), or `timeout; N of M instances` when some did not within ' +
    '`KEYWARD_REVOKE_CONFIRM_TIMEOUT` (those stop serving from their cache within 2 × ' +
    '`KEYWARD_LISTENER_HEARTBEAT` of their last heartbeat)',
  required: false,
  schema: {
    type: 'string',
    pattern: '^(confirmed|timeout); \\d+ of \\d+ instances$',
    example: 'confirmed; 3 of 3 instances',
  },
};

const ERROR_SCHEMA_REF = '#/components/schemas/ErrorEnvelopeDto';
/** The Calyptia-style error shape (`{"error": "<message>", "detail"?, code, data, trace_id}`) of the project routes. */
const CALYPTIA_ERROR_SCHEMA_REF = '#/components/schemas/CalyptiaErrorDto';
const EXAMPLE_TRACE_ID = '5f0c2a9d81e6b3c4d7a1e2f3';

/** The example of an error status in the shape `schemaRef` describes (undefined for other schemas). */
function errorExample(schemaRef: string | undefined, status: string): unknown {
  const e = ERROR_EXAMPLES[status];
  if (!e) return undefined;
  if (schemaRef === ERROR_SCHEMA_REF) return { error: { ...e, trace_id: EXAMPLE_TRACE_ID } };
  if (schemaRef === CALYPTIA_ERROR_SCHEMA_REF) {
    const fields = e.data.fields as Record<string, string[]> | undefined;
    const detail =
      fields &&
      Object.entries(fields)
        .map(([f, m]) => `${f}: ${m.join(', ')}`)
        .join('; ');
    return { error: e.message, ...(detail ? { detail } : {}), code: e.code, data: e.data, trace_id: EXAMPLE_TRACE_ID };
  }
  return undefined;
}

/** One example per error status, as the exception filter writes it. */
const ERROR_EXAMPLES: Record<string, { code: string; message: string; data: Record<string, unknown> }> = {
  '400': {
    code: 'bad_request',
    message: 'Request validation failed',
    data: { fields: { access: ['access must be one of: read, write'] } },
  },
  '401': { code: 'authentication_error', message: 'Invalid or missing API token', data: {} },
  '403': { code: 'authorization_error', message: 'Insufficient permissions', data: {} },
  '404': { code: 'not_found', message: 'Not found', data: {} },
  '409': { code: 'conflict', message: 'A resource with these values already exists', data: {} },
  '413': { code: 'payload_too_large', message: 'Request body is too large', data: {} },
  '415': { code: 'unsupported_media_type', message: 'Unsupported Content-Type: send application/json', data: {} },
  '414': { code: 'bad_request', message: 'URI too long: a path parameter is longer than allowed', data: {} },
  '429': {
    code: 'rate_limited',
    message: 'Too many failed authentication attempts: try again later',
    data: { retry_after: 60 },
  },
  '503': { code: 'service_unavailable', message: DATABASE_UNAVAILABLE_MESSAGE, data: {} },
};

const RETRY_AFTER = { description: 'Seconds to wait before retrying', schema: { type: 'integer' } };

const BODY_ERRORS: Record<string, string> = {
  '400': 'Malformed JSON body, unknown or invalid fields',
  '413': 'Request body over KEYWARD_BODY_LIMIT bytes',
  '415': 'Request body that is not JSON (`application/json` or `application/*+json`)',
};

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

interface Operation {
  operationId?: string;
  summary?: string;
  description?: string;
  security?: Array<Record<string, string[]>>;
  requestBody?: { required?: boolean; content?: Record<string, { schema?: { $ref?: string; required?: string[] } }> };
  responses: Record<string, Response>;
  [extension: `x-${string}`]: unknown;
}
interface Response {
  description: string;
  headers?: Record<string, unknown>;
  content?: Record<string, { schema?: { $ref?: string }; example?: unknown; examples?: unknown }>;
}

/** The OpenAPI document, built from the code. Operation ids are stable (the alias paths get a suffix). */
export function buildOpenApiDocument(app: INestApplication, version = VERSION): OpenAPIObject {
  const builder = new DocumentBuilder()
    .setTitle('Keyward')
    .setDescription(DESCRIPTION)
    .setVersion(version)
    .setLicense('MIT', 'https://opensource.org/licenses/MIT')
    .addServer('/', 'The server that serves this document')
    // An opaque bearer token (not a JWT): no bearerFormat.
    .addBearerAuth(
      { type: 'http', scheme: 'bearer', bearerFormat: undefined, description: 'Authorization: Bearer <token>' },
      'bearer',
    )
    .addApiKey(
      { type: 'apiKey', in: 'header', name: 'X-Token', description: 'X-Token: <token> (named-tokens files)' },
      'x-token',
    )
    .addApiKey(
      { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'X-API-Key: <token> (API-keys files)' },
      'x-api-key',
    )
    .addApiKey(
      { type: 'apiKey', in: 'header', name: 'X-Project-Token', description: 'Calyptia project tokens' },
      'x-project-token',
    );
  for (const [name, description] of TAGS) builder.addTag(name, description);
  const document = SwaggerModule.createDocument(app, builder.build(), {
    operationIdFactory: (controllerKey, methodKey) => `${controllerKey.replace(/Controller$/, '')}_${methodKey}`,
  });
  const seen = new Set<string>();
  for (const path of Object.keys(document.paths).sort().reverse()) {
    for (const op of Object.values(document.paths[path]) as Array<{ operationId?: string }>) {
      if (!op || typeof op !== 'object' || !op.operationId) continue;
      if (seen.has(op.operationId)) {
        const alias = path
          .split('/')
          .filter(Boolean)[0]
          .replace(/[^A-Za-z0-9]/g, '');
        op.operationId = `${op.operationId}_${alias}`;
      }
      seen.add(op.operationId);
    }
  }
  describeRequiredPermissions(document);
  describeWhatToCopy(document);
  completeDocument(document);
  return document;
}

/**
 * What holds for every operation because of how the app is built, written into the document once
 * instead of on each route: the trace-id header (set by an onRequest hook), the body errors Fastify
 * and the validation pipe give any route that reads a body (400/413/415), "an empty body counts as
 * `{}`" (a body is required only when its schema has required fields), `security: []` on public
 * routes, one example per error status, and the `/api-token/*` aliases of the Publisher routes.
 */
function completeDocument(document: OpenAPIObject): void {
  const components = document.components ?? (document.components = {});
  components.headers = {
    ...(components.headers ?? {}),
    'X-Trace-Id': TRACE_ID_HEADER,
    [INVALIDATION_HEADER_NAME]: INVALIDATION_HEADER,
  };
  const schemas = (components.schemas ?? {}) as Record<string, { required?: string[] }>;

  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of METHODS) {
      const op = (item as Record<string, Operation | undefined>)[method];
      if (!op) continue;
      op.security ??= [];
      const errorRef = errorSchemaOf(op);
      describeBodyErrors(op, schemas, errorRef);
      describeServiceErrors(op, path, errorRef);
      describeResponseHeadersAndExamples(op);
      if (path.startsWith('/api-token/') && document.paths[`/publisher.v1${path}`]) {
        op['x-alias-of'] = `/publisher.v1${path}`;
        op.description =
          `Alias of \`POST /publisher.v1${path}\`: same behaviour, same rights. ${op.description ?? ''}`.trim();
      }
    }
  }
}

/** The operation's own error shape (a route may answer errors in the Calyptia style). */
function errorSchemaOf(op: Operation): string {
  return (
    Object.entries(op.responses)
      .filter(([status]) => Number(status) >= 400)
      .map(([, r]) => r.content?.['application/json']?.schema?.$ref)
      .find((ref) => ref === ERROR_SCHEMA_REF || ref === CALYPTIA_ERROR_SCHEMA_REF) ?? ERROR_SCHEMA_REF
  );
}

/**
 * A route that reads a JSON body: the body is required only when its schema has required fields (an
 * empty body counts as `{}`), and Fastify and the validation pipe answer its 400/413/415.
 */
function describeBodyErrors(op: Operation, schemas: Record<string, { required?: string[] }>, errorRef: string): void {
  const body = op.requestBody?.content?.['application/json']?.schema;
  if (!op.requestBody || !body) return;
  const schema = body.$ref ? schemas[body.$ref.split('/').pop() as string] : body;
  op.requestBody.required = (schema?.required?.length ?? 0) > 0;
  for (const [status, description] of Object.entries(BODY_ERRORS)) {
    op.responses[status] ??= {
      description,
      content: { 'application/json': { schema: { $ref: errorRef } } },
    };
  }
}

/** The answers the service gives any route: 503 (shutting down, database), 429 (throttled), 414 (path). */
function describeServiceErrors(op: Operation, path: string, errorRef: string): void {
  const security = op.security ?? [];
  // Every route answers 503 with Retry-After while the service shuts down, and every route that checks
  // a token also when the database is unreachable.
  op.responses['503'] ??= {
    description:
      security.length > 0
        ? 'The database is unreachable, or the service is shutting down: retry after `Retry-After` seconds'
        : 'The service is shutting down: retry after `Retry-After` seconds',
    headers: { 'Retry-After': RETRY_AFTER },
    content: { 'application/json': { schema: { $ref: errorRef } } },
  };
  // Failed authentication is throttled per client address and per token before any argon2 work.
  if (security.length > 0) {
    op.responses['429'] ??= {
      description:
        'Too many failed authentications from this address or for this token: retry after `Retry-After` seconds',
      headers: { 'Retry-After': RETRY_AFTER },
      content: { 'application/json': { schema: { $ref: errorRef } } },
    };
  }
  // The router refuses path parameters longer than it allows.
  if (path.includes('{')) {
    op.responses['414'] ??= {
      description: 'A path parameter is longer than the router allows',
      content: { 'application/json': { schema: { $ref: errorRef } } },
    };
  }
}

/**
 * Every response carries X-Trace-Id, the 2xx of an operation that invalidates cached verifications the
 * invalidation header, and every JSON error one example.
 */
function describeResponseHeadersAndExamples(op: Operation): void {
  const invalidates = op[INVALIDATION_EXTENSION] === true;
  delete op[INVALIDATION_EXTENSION];
  for (const [status, response] of Object.entries(op.responses)) {
    response.headers = { ...(response.headers ?? {}), 'X-Trace-Id': { $ref: '#/components/headers/X-Trace-Id' } };
    if (invalidates && status.startsWith('2')) {
      response.headers[INVALIDATION_HEADER_NAME] = { $ref: `#/components/headers/${INVALIDATION_HEADER_NAME}` };
    }
    const json = response.content?.['application/json'];
    const example = errorExample(json?.schema?.$ref, status);
    if (json && example && json.example === undefined && !json.examples) json.example = example;
  }
}

/** The document Swagger UI shows: the full one without the alias operations (they would list every Publisher operation twice). */
export function documentForUi(document: OpenAPIObject): OpenAPIObject {
  const paths = Object.fromEntries(
    Object.entries(document.paths).filter(([, item]) =>
      Object.values(item as Record<string, { 'x-alias-of'?: string }>).every((op) => !op?.['x-alias-of']),
    ),
  );
  return { ...document, paths };
}

/** Every protected operation states its one required permission in its description. */
function describeRequiredPermissions(document: OpenAPIObject): void {
  for (const item of Object.values(document.paths)) {
    for (const op of Object.values(item) as Array<Record<string, unknown>>) {
      const permission = op?.[PERMISSION_EXTENSION];
      if (typeof permission !== 'string') continue;
      const line = `Requires the \`${permission}\` permission.`;
      op.description = op.description ? `${String(op.description)}\n\n${line}` : line;
    }
  }
}

const FROM_CREATE = 'the `id` from the answer of `POST /publisher.v1/api-token/create` (or from `list`)';
const FROM_PROJECT = 'the `id` from the answer of `POST /v1/projects`';
const FROM_PROJECT_TOKEN = 'the `id` from the answer of `POST /v1/projects/{projectID}/tokens`';
const FROM_WEBHOOK = 'the `id` from the answer of `POST /v1/webhooks`';

/**
 * Operations whose prefilled example needs a value from an earlier answer (an id, a secret): what to
 * copy before pressing Execute in Swagger UI. Every other prefilled example runs as it is.
 */
export const COPY_BEFORE_EXECUTE: Record<string, string> = {
  'POST /publisher.v1/api-token/revoke': `put ${FROM_CREATE} in \`id\``,
  'POST /publisher.v1/api-token/rotate': `put ${FROM_CREATE} in \`id\``,
  'POST /publisher.v1/api-token/disable': `put ${FROM_CREATE} in \`id\``,
  'POST /publisher.v1/api-token/enable': `put ${FROM_CREATE} in \`id\``,
  'POST /v1/tokens/{tokenID}/rotate': `put ${FROM_CREATE} in \`tokenID\``,
  'POST /v1/tokens/verify':
    'put the `token` from the answer of `POST /publisher.v1/api-token/create` in `token`; the example `project` is the one `POST /v1/projects` creates',
  'POST /oauth2/introspect': 'put the `token` from the answer of `POST /publisher.v1/api-token/create` in `token`',
  'GET /v1/webhooks/{webhookID}': `put ${FROM_WEBHOOK} in \`webhookID\``,
  'DELETE /v1/webhooks/{webhookID}': `put ${FROM_WEBHOOK} in \`webhookID\``,
  'GET /v1/webhooks/{webhookID}/deliveries': `put ${FROM_WEBHOOK} in \`webhookID\``,
  'POST /v1/webhooks/{webhookID}/rotate-secret': `put ${FROM_WEBHOOK} in \`webhookID\``,
  'GET /v1/projects/{projectID}': `put ${FROM_PROJECT} in \`projectID\``,
  'PATCH /v1/projects/{projectID}': `put ${FROM_PROJECT} in \`projectID\``,
  'DELETE /v1/projects/{projectID}': `put ${FROM_PROJECT} in \`projectID\``,
  'GET /v1/projects/{projectID}/tokens': `put ${FROM_PROJECT} in \`projectID\``,
  'POST /v1/projects/{projectID}/tokens': `put ${FROM_PROJECT} in \`projectID\``,
  'GET /v1/project_tokens/{tokenID}': `put ${FROM_PROJECT_TOKEN} in \`tokenID\``,
  'PATCH /v1/project_tokens/{tokenID}': `put ${FROM_PROJECT_TOKEN} in \`tokenID\``,
  'DELETE /v1/project_tokens/{tokenID}': `put ${FROM_PROJECT_TOKEN} in \`tokenID\``,
  'GET /v1/projects/{projectID}/tokens/{tokenID}': `put ${FROM_PROJECT} in \`projectID\` and ${FROM_PROJECT_TOKEN} in \`tokenID\``,
  'PATCH /v1/projects/{projectID}/tokens/{tokenID}': `put ${FROM_PROJECT} in \`projectID\` and ${FROM_PROJECT_TOKEN} in \`tokenID\``,
  'DELETE /v1/projects/{projectID}/tokens/{tokenID}': `put ${FROM_PROJECT} in \`projectID\` and ${FROM_PROJECT_TOKEN} in \`tokenID\``,
};

/** The "Before you execute" line of each operation that needs an earlier answer (aliases included). */
function describeWhatToCopy(document: OpenAPIObject): void {
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, op] of Object.entries(item) as Array<[string, Record<string, unknown>]>) {
      const alias = op?.['x-alias-of'];
      const canonical = typeof alias === 'string' ? alias : path;
      const hint =
        COPY_BEFORE_EXECUTE[
          `${method.toUpperCase()} ${canonical.replace(/^\/api-token\//, '/publisher.v1/api-token/')}`
        ];
      if (!hint) continue;
      const line = `Before you execute: ${hint}.`;
      op.description = op.description ? `${String(op.description)}\n\n${line}` : line;
    }
  }
}
