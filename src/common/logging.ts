import type { LoggerService } from '@nestjs/common';
import type { Params } from 'nestjs-pino';
import { pino, type Logger } from 'pino';

/** Headers that carry credentials: never written to a log, whatever the level. */
const SECRET_HEADERS = ['authorization', 'x-token', 'x-api-key', 'x-project-token', 'cookie', 'proxy-authorization'];

/**
 * The process's one pino logger (JSON lines on stdout). Nest's own messages go through it via
 * nestjs-pino, and the access log (src/common/http/access-log.ts) writes one line per request with it.
 * Request bodies and credential headers are never logged.
 */
export function createLogger(config: { LOG_LEVEL: pino.LevelWithSilent }): Logger {
  return pino({
    level: config.LOG_LEVEL,
    base: { service: 'keyward' },
    redact: { paths: SECRET_HEADERS.map((h) => `req.headers["${h}"]`), censor: '[redacted]' },
  });
}

export function loggerParams(logger: Logger): Params {
  return {
    pinoHttp: {
      logger,
      // pino-http's own request lines are off: in this Nest + Fastify setup its middleware sees almost no
      // requests, and it knows neither the route pattern nor the caller. The access log is written from
      // Fastify's onResponse hook instead.
      autoLogging: false,
      quietReqLogger: true,
    },
  };
}

/** Nest's start-up chatter (module list, route table): debug level, so that a start prints a handful of lines. */
const STARTUP_CONTEXTS = new Set([
  'NestFactory',
  'InstanceLoader',
  'RoutesResolver',
  'RouterExplorer',
  'NestApplication',
]);

/** Nest's logger with its start-up messages demoted to debug; everything else as it is. */
export function quietStartup(inner: LoggerService): LoggerService {
  const demoted = (params: unknown[]) => {
    const context = params.at(-1);
    return typeof context === 'string' && STARTUP_CONTEXTS.has(context);
  };
  return {
    log: (message: unknown, ...params: unknown[]) =>
      demoted(params) ? inner.debug?.(message, ...params) : inner.log(message, ...params),
    error: (message: unknown, ...params: unknown[]) => inner.error(message, ...params),
    warn: (message: unknown, ...params: unknown[]) => inner.warn(message, ...params),
    debug: (message: unknown, ...params: unknown[]) => inner.debug?.(message, ...params),
    verbose: (message: unknown, ...params: unknown[]) => inner.verbose?.(message, ...params),
    fatal: (message: unknown, ...params: unknown[]) => inner.fatal?.(message, ...params),
  };
}
