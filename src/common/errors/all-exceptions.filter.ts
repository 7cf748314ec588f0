import { type ArgumentsHost, Catch, type ExceptionFilter, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from './api-error.js';
import { dialectOf, toCalyptia } from './error-dialect.js';
import { envelope, loggableError, toEnvelope } from './error-envelope.js';
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
  const body = envelope(mapped, traceId);
  void reply
    .header(TRACE_HEADER, traceId)
    .status(mapped.status)
    .send(dialectOf(request) === 'calyptia' ? toCalyptia(body) : body);
}
