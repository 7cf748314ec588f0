import { type ArgumentsHost, Catch, type ExceptionFilter, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from './api-error.js';
import { dialectOf, type ErrorDialect, toCalyptia } from './error-dialect.js';
import { envelope, loggableError, type Mapped, toEnvelope } from './error-envelope.js';
import { TRACE_HEADER, traceIdFor } from '../http/trace-id.js';

/**
 * The one place that writes error responses: in the Publisher envelope, or in the Calyptia shape on
 * routes that declare `@ErrorDialect('calyptia')`.
 */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const request = ctx.getRequest<FastifyRequest>();
    const reply = ctx.getResponse<FastifyReply>();
    sendError(reply, request, exception, this.logger);
  }
}

export function sendError(reply: FastifyReply, request: FastifyRequest, exception: unknown, logger: Logger): void {
  const mapped = toEnvelope(exception);
  const traceId = (request.id as string | undefined) ?? traceIdFor(request.headers);
  // Unexpected errors are logged with their stack. A deliberate ApiError (a 503 "not ready") is not, nor is
  // an unreachable database (503): its owner logs that once, not per request.
  if (mapped.status >= 500 && mapped.status !== 503 && !(exception instanceof ApiError)) {
    // The error's class, code and stack frames only: never its message, the request body or headers
    // (Prisma and PostgreSQL messages quote payloads, hashes and lookup ids).
    const { summary, frames } = loggableError(exception);
    logger.error(`trace_id=${traceId} ${summary}`, frames);
  }
  if (reply.sent) return;
  if (mapped.retryAfter !== undefined) void reply.header('retry-after', String(mapped.retryAfter));
  const dialect = dialectOf(request);
  void reply.header(TRACE_HEADER, traceId).status(mapped.status);
  if (exception instanceof ApiError && Object.isFrozen(exception)) {
    // A shared error (the 401s, the 429s): its body was serialized once, around the trace id.
    const [head, tail] = serializedAround(exception, mapped, dialect);
    void reply.header('content-type', JSON_TYPE).send(head + JSON.stringify(traceId) + tail);
    return;
  }
  const body = envelope(mapped, traceId);
  void reply.send(dialect === 'calyptia' ? toCalyptia(body) : body);
}

const JSON_TYPE = 'application/json; charset=utf-8';
/** Stands for the trace id in a serialized body (messages never hold a NUL character), and as JSON. */
const TRACE_SLOT = '\u0000trace_id\u0000';
const TRACE_SLOT_JSON = JSON.stringify(TRACE_SLOT);
/** The bodies of shared (frozen) errors, serialized once per dialect, split where the trace id goes. */
const SERIALIZED = new WeakMap<ApiError, Partial<Record<ErrorDialect, readonly [string, string]>>>();

function serializedAround(error: ApiError, mapped: Mapped, dialect: ErrorDialect): readonly [string, string] {
  let byDialect = SERIALIZED.get(error);
  if (!byDialect) SERIALIZED.set(error, (byDialect = {}));
  let parts = byDialect[dialect];
  if (!parts) {
    const body = envelope(mapped, TRACE_SLOT);
    const text = JSON.stringify(dialect === 'calyptia' ? toCalyptia(body) : body);
    const at = text.indexOf(TRACE_SLOT_JSON);
    parts = byDialect[dialect] = [text.slice(0, at), text.slice(at + TRACE_SLOT_JSON.length)];
  }
  return parts;
}
