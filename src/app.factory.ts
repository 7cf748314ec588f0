import 'reflect-metadata';
import { ShutdownSignal } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { SwaggerModule } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module.js';
import { AllExceptionsFilter } from './common/all-exceptions.filter.js';
import { buildOpenApiDocument } from './common/openapi.js';
import { jsonBodyProblem } from './common/json-body.js';
import { traceIdFor } from './common/trace-id.js';
import { KeywardFastifyAdapter } from './common/http-adapter.js';
import { createValidationPipe, RequireObjectBodyPipe, StorableTextPipe } from './common/validation.js';
import type { AppConfig } from './config/config.schema.js';

class BadJsonError extends Error {
  readonly statusCode = 400;
  readonly code = 'FST_ERR_CTP_INVALID_JSON_BODY';
}

/** Creates the Nest app on Fastify with everything main.ts, the tests and the OpenAPI script share. */
export async function createApp(config: AppConfig): Promise<NestFastifyApplication> {
  const adapter = new KeywardFastifyAdapter({
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
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), adapter, {
    bufferLogs: true,
    abortOnError: false,
    bodyParser: false,
  });
  app.useLogger(app.get(Logger));
  const fastify = app.getHttpAdapter().getInstance();

  // Every response carries the trace id (KeywardFastifyAdapter's onRequest hook, also 503 while closing).

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
  fastify.removeContentTypeParser('application/json');
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, parseJson);
  fastify.addContentTypeParser(/^application\/[\w.+-]+\+json$/i, { parseAs: 'string' }, parseJson);

  // Fastify's own errors (body limit, content type, JSON) reach AllExceptionsFilter through the error
  // handler Nest installs, so the filter is the one place that writes error responses.
  app.useGlobalFilters(new AllExceptionsFilter());
  app.useGlobalPipes(new StorableTextPipe(), new RequireObjectBodyPipe(), createValidationPipe());
  // Every usual signal stops the service gracefully, except SIGHUP: it reloads the tokens file.
  app.enableShutdownHooks(Object.values(ShutdownSignal).filter((s) => s !== ShutdownSignal.SIGHUP));

  if (config.KEYWARD_DOCS_ENABLED) {
    const document = buildOpenApiDocument(app);
    SwaggerModule.setup('docs', app, document, {
      jsonDocumentUrl: 'openapi.json',
      yamlDocumentUrl: 'openapi.yaml',
      customSiteTitle: 'Keyward API',
      swaggerOptions: { persistAuthorization: true, displayRequestDuration: true },
    });
  }
  return app;
}
