import 'reflect-metadata';
import { ShutdownSignal } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { SwaggerModule } from '@nestjs/swagger';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Logger } from 'nestjs-pino';
import type { Logger as Pino } from 'pino';
import { AppModule } from './app.module.js';
import { presentedToken } from './verification/credentials.js';
import { installAccessLog } from './common/http/access-log.js';
import { installSecurityHeaders } from './common/http/security-headers.js';
import { createLogger, quietStartup } from './common/logging.js';
import { installMethodNotAllowed } from './common/http/method-not-allowed.js';
import type { DatabaseService } from './database/database.service.js';
import { withConfigAndDatabase } from './database/database.module.js';
import { MetricsService } from './metrics/metrics.service.js';
import { TokenCodec } from './verification/token-codec.js';
import { installThrottleGate } from './verification/throttle-gate.js';
import { TokenVerifier } from './verification/token-verifier.js';
import { AllExceptionsFilter } from './common/errors/all-exceptions.filter.js';
import { buildOpenApiDocument, documentForUi } from './common/openapi/openapi.js';
import { jsonBodyProblem } from './common/http/json-body.js';
import { INTROSPECTION_PATH } from './introspection/introspection.controller.js';
import { registerRequestContext } from './common/http/request-context.js';
import { TRACE_HEADER, traceIdFor } from './common/http/trace-id.js';
import { KeywardFastifyAdapter } from './common/http/http-adapter.js';
import { createValidationPipe, RequireObjectBodyPipe, StorableTextPipe } from './common/errors/validation.js';
import type { AppConfig } from './config/config.schema.js';

class BadJsonError extends Error {
  readonly statusCode = 400;
  readonly code = 'FST_ERR_CTP_INVALID_JSON_BODY';
}

class BadFormError extends Error {
  readonly statusCode = 400;
  readonly code = 'FST_ERR_CTP_INVALID_FORM_BODY';
}

/** A form-encoded body anywhere but the introspection route: the API takes JSON (415). */
class NotJsonError extends Error {
  readonly statusCode = 415;
  readonly code = 'FST_ERR_CTP_INVALID_MEDIA_TYPE';
}

export interface CreateAppOptions {
  /** The process's pino logger (main.ts creates it first); a new one from LOG_LEVEL otherwise. */
  logger?: Pino;
  /** An already opened database (main.ts opens it before Nest); opened by the app otherwise. */
  database?: DatabaseService;
  /** The server process (main.ts): a shutdown signal drains for KEYWARD_SHUTDOWN_DRAIN before closing. */
  drainOnSignal?: boolean;
}

/**
 * Content Security Policy for every response. Swagger UI at /docs loads only same-origin scripts
 * (swagger-ui-bundle.js, swagger-ui-init.js) and needs inline styles and data: images; nothing else is
 * allowed. No `upgrade-insecure-requests`: it would break /docs served over plain HTTP on a LAN.
 */
const CSP_DIRECTIVES = {
  defaultSrc: ["'self'"],
  baseUri: ["'self'"],
  scriptSrc: ["'self'"],
  scriptSrcAttr: ["'none'"],
  styleSrc: ["'self'", "'unsafe-inline'"],
  imgSrc: ["'self'", 'data:'],
  fontSrc: ["'self'", 'data:'],
  connectSrc: ["'self'"],
  objectSrc: ["'none'"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
  upgradeInsecureRequests: null,
};

/** Creates the Nest app on Fastify with everything main.ts, the tests and the OpenAPI script share. */
export async function createApp(config: AppConfig, options: CreateAppOptions = {}): Promise<NestFastifyApplication> {
  const logger = options.logger ?? createLogger(config);
  const adapter = createAdapter(config);
  const app = await withConfigAndDatabase(config, options.database, () =>
    NestFactory.create<NestFastifyApplication>(AppModule.forRoot(logger), adapter, {
      bufferLogs: true,
      abortOnError: false,
      bodyParser: false,
    }),
  );
  app.useLogger(quietStartup(app.get(Logger)));
  const fastify = app.getHttpAdapter().getInstance();
  // A known path asked with another method: 405 with `Allow` (routes are collected as they register).
  installMethodNotAllowed(fastify);
  // Client address, user agent and trace id of the current request, for the audit trail.
  await registerRequestContext(fastify);
  // Every response carries the trace id (KeywardFastifyAdapter's onRequest hook, also 503 while closing).
  installResponseHeaders(app, config);
  installRequestLogging(app, logger);
  installBodyParsers(fastify);
  // A client address refused a moment ago gets its 429 before any route work.
  installThrottleGate(fastify, app.get(TokenVerifier));

  // Fastify's own errors (body limit, content type, JSON) reach AllExceptionsFilter through the error
  // handler Nest installs, so the filter is the one place that writes error responses.
  app.useGlobalFilters(new AllExceptionsFilter());
  app.useGlobalPipes(new StorableTextPipe(), new RequireObjectBodyPipe(), createValidationPipe());
  // Every usual signal stops the service gracefully, except SIGHUP: it reloads the tokens file. A signal
  // first drains for KEYWARD_SHUTDOWN_DRAIN (503 with `Connection: close`), then closes.
  const signals = Object.values(ShutdownSignal).filter((s) => s !== ShutdownSignal.SIGHUP);
  if (options.drainOnSignal) adapter.drainAfterSignal(config.KEYWARD_SHUTDOWN_DRAIN, signals);
  app.enableShutdownHooks(signals);

  if (config.KEYWARD_DOCS_ENABLED) serveApiDocs(app, config);
  return app;
}

/** Fastify with Keyward's limits, proxy trust and trace ids (one per request, also for pino-http). */
function createAdapter(config: AppConfig): KeywardFastifyAdapter {
  return new KeywardFastifyAdapter({
    bodyLimit: config.KEYWARD_BODY_LIMIT,
    trustProxy: config.KEYWARD_TRUST_PROXY,
    routerOptions: { maxParamLength: 200 },
    logger: false,
    requestIdHeader: false,
    genReqId: (req: { headers: Record<string, string | string[] | undefined> }) => {
      const id = traceIdFor(req.headers);
      (req as { id?: string }).id = id; // pino-http picks the same id up for the request log
      return id;
    },
  });
}

/** `no-store` on every answer that sets no caching of its own, helmet's security headers, CORS when configured. */
function installResponseHeaders(app: NestFastifyApplication, config: AppConfig): void {
  // `no-store` and helmet's security headers, with a CSP Swagger UI works under; CORS only for
  // configured origins.
  installSecurityHeaders(app.getHttpAdapter().getInstance(), { contentSecurityPolicy: { directives: CSP_DIRECTIVES } });
  if (config.KEYWARD_CORS_ORIGINS?.length) {
    const origins = config.KEYWARD_CORS_ORIGINS;
    app.enableCors({
      origin: origins.includes('*') ? '*' : origins,
      methods: ['GET', 'POST', 'PATCH', 'DELETE'],
      exposedHeaders: [TRACE_HEADER, 'x-next-cursor'],
      maxAge: 600,
    });
  }
}

/** One access-log line and one metrics observation per request (Fastify's onResponse). */
function installRequestLogging(app: NestFastifyApplication, logger: Pino): void {
  const fastify = app.getHttpAdapter().getInstance();
  const codec = app.get(TokenCodec);
  const metrics = app.get(MetricsService);
  installAccessLog(fastify, logger, {
    credentialOf: (request) => {
      const presented = presentedToken(request);
      if (!presented) return { credential: 'none' };
      const lookupId = codec.parse(presented)?.lookupId;
      return lookupId ? { lookup_id: lookupId } : { credential: 'other' };
    },
    observers: [(summary) => metrics.observeRequest(summary)],
  });
}

/** Body parsers: JSON (and `+json`), form bodies only for introspection, 415 for everything else. */
function installBodyParsers(fastify: FastifyInstance): void {
  // JSON bodies: empty means "no body" (curl -X POST without -d), malformed is a 400 in the envelope,
  // `__proto__`/`constructor` keys are refused (fastify's secure parser). Also for `+json` media types.
  const secureParse = fastify.getDefaultJsonParser('error', 'error');
  const parseJson = (
    request: FastifyRequest,
    body: string | Buffer,
    done: (err: Error | null, v?: unknown) => void,
  ) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') return done(null, undefined);
    secureParse(request, text, (err, value) => {
      if (err) return done(new BadJsonError('Malformed JSON body'));
      const problem = jsonBodyProblem(value);
      return problem ? done(new BadJsonError(`Invalid JSON body: ${problem}`)) : done(null, value);
    });
  };
  // Every other media type (text/plain included, whatever it holds) and a body without one: 415.
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, parseJson);
  fastify.addContentTypeParser(/^application\/[\w.+-]+\+json$/i, { parseAs: 'string' }, parseJson);
  // Form-encoded bodies only where a standard says so: OAuth token introspection (RFC 7662). A
  // parameter given twice is refused (RFC 6749 §3.2).
  fastify.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (request, body, done) => {
    if (request.routeOptions.url !== INTROSPECTION_PATH)
      return done(new NotJsonError('form bodies are not accepted here'));
    const params = new URLSearchParams(typeof body === 'string' ? body : body.toString('utf8'));
    const form: Record<string, string> = {};
    for (const [key, value] of params) {
      if (Object.hasOwn(form, key)) return done(new BadFormError(`Parameter ${key} given more than once`));
      form[key] = value;
    }
    const problem = jsonBodyProblem(form);
    return problem ? done(new BadFormError(`Invalid form body: ${problem}`)) : done(null, form);
  });
}

/** Swagger UI at /docs and the document at /openapi.json and /openapi.yaml. */
function serveApiDocs(app: NestFastifyApplication, config: AppConfig): void {
  const document = buildOpenApiDocument(app);
  // Swagger UI at /docs shows the document without the `/api-token/*` aliases; /openapi.json and
  // /openapi.yaml serve the whole document.
  SwaggerModule.setup('docs', app, documentForUi(document), {
    raw: false,
    customSiteTitle: 'Keyward API',
    // The token typed into "Authorize" is forgotten on reload unless KEYWARD_DOCS_PERSIST_AUTH.
    swaggerOptions: {
      persistAuthorization: config.KEYWARD_DOCS_PERSIST_AUTH,
      displayRequestDuration: true,
      tryItOutEnabled: true,
    },
  });
  SwaggerModule.setup('openapi', app, document, {
    ui: false,
    jsonDocumentUrl: 'openapi.json',
    yamlDocumentUrl: 'openapi.yaml',
  });
}
