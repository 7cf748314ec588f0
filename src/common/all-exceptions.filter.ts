import { type ArgumentsHost, Catch, type ExceptionFilter, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { envelope, loggableError, toEnvelope } from './error-envelope.js';
import { TRACE_HEADER, traceIdFor } from './trace-id.js';
import { ApiError } from './api-error.js';

/** The one place that writes error responses: every error, everywhere, in the Publisher-style envelope. */
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
  if (mapped.status >= 500 && !(exception instanceof ApiError)) {
    // The error's class, code and stack frames only: never its message, the request body or headers
    // (Prisma and PostgreSQL messages quote payloads, hashes and lookup ids).
    const { summary, frames } = loggableError(exception);
    logger.error(`trace_id=${traceId} ${summary}`, frames);
  }
  if (reply.sent) return;
  if (mapped.headers) void reply.headers(mapped.headers);
  void reply.header(TRACE_HEADER, traceId).status(mapped.status).send(envelope(mapped, traceId));
}
