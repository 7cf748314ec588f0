import { Logger } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import type { Server } from 'node:http';
import { Server as NetServer, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiError } from '../errors/api-error.js';
import { sendError } from '../errors/all-exceptions.filter.js';
import { envelope, toEnvelope } from '../errors/error-envelope.js';
import { TRACE_HEADER, traceIdFor } from './trace-id.js';

const logger = new Logger('Errors');

/** After the drain, how long connections already accepted get to send their request and be answered. */
const DRAIN_CONNECTION_GRACE_MS = 1000;

/**
 * Fastify under Nest, with every answer Fastify would write by itself in the error envelope:
 *  - router errors (malformed percent-encoding, a path parameter over `maxParamLength` → 414) go through
 *    `frameworkErrors` to the same `sendError` as everything else;
 *  - HTTP parse errors on the socket (bad request line, headers too large → 431) get a raw envelope;
 *  - during shutdown (from `app.close()`'s first step until the server is closed) requests get
 *    `503 service_unavailable` with `Retry-After` and `Connection: close`, instead of Fastify's own JSON;
 *    after a signal (`drainAfterSignal`) the port stays open that long answering so (readiness
 *    included), letting load balancers and kept-alive clients move away before it closes; requests in
 *    flight finish either way.
 */
export class KeywardFastifyAdapter extends FastifyAdapter {
  /** True from the moment `app.close()` starts. */
  draining = false;
  /** Set when a shutdown signal arrives: how long `beforeClose` keeps the port open, answering 503. */
  drainFor = 0;

  /** On the first of `signals`, `app.close()` drains for `ms` before closing the server. */
  drainAfterSignal(ms: number, signals: string[]): void {
    if (ms <= 0) return;
    for (const signal of signals) {
      // `once`: after the shutdown, Nest sends the signal again to end the process the default way.
      process.once(signal, () => {
        this.drainFor = ms;
        this.draining = true;
      });
    }
  }

  constructor(options: FastifyServerOptions) {
    super({
      ...options,
      // Our onRequest hook answers in the envelope instead (see `draining`).
      return503OnClosing: false,
      frameworkErrors: (error: Error, request: FastifyRequest, reply: FastifyReply) =>
        sendError(reply, request, error, logger),
      clientErrorHandler: clientError,
    });
    this.getInstance().addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
      void reply.header(TRACE_HEADER, request.id);
      if (this.draining) {
        void reply.header('connection', 'close');
        throw ApiError.unavailable('The service is shutting down: try again', 1000);
      }
    });
  }

  override async beforeClose(): Promise<void> {
    this.draining = true;
    if (this.drainFor > 0) {
      await sleep(this.drainFor);
      await this.stopAccepting();
    }
    super.beforeClose();
  }

  /**
   * Closes the port but not the connections already accepted: `http.Server#close` would also close
   * every connection without a request in progress, resetting one whose request is on its way. Each of
   * those gets its 503 with `Connection: close` (or goes idle) within a short grace; Fastify's close then
   * ends whatever is left.
   */
  private async stopAccepting(): Promise<void> {
    const server = this.getHttpServer() as Server | undefined;
    if (!server?.listening) return;
    NetServer.prototype.close.call(server);
    const deadline = Date.now() + DRAIN_CONNECTION_GRACE_MS;
    while (Date.now() < deadline) {
      const open = await new Promise<number>((resolve) => server.getConnections((err, n) => resolve(err ? 0 : n)));
      if (open === 0) return;
      await sleep(20);
    }
  }
}

/** Node's `clientError`: the request could not even be parsed, so there is no Fastify request. */
function clientError(err: NodeJS.ErrnoException & { rawPacket?: unknown }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) {
    socket.destroy();
    return;
  }
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const messages: Record<number, string> = {
    408: 'Request timeout',
    431: 'Request headers are too large',
    400: 'Malformed HTTP request',
  };
  const traceId = traceIdFor({});
  const mapped = { ...toEnvelope(new ApiError(status, 'bad_request', messages[status])) };
  const body = JSON.stringify(envelope(mapped, traceId));
  if (socket.writable) {
    socket.end(
      `HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request'}\r\n` +
        `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `${TRACE_HEADER}: ${traceId}\r\nConnection: close\r\n\r\n${body}`,
    );
  } else {
    socket.destroy();
  }
}
