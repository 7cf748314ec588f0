import { fastifyRequestContext, requestContext } from '@fastify/request-context';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/**
 * Where the current request comes from, for the audit trail: set once per request in an `onRequest`
 * hook (AsyncLocalStorage through @fastify/request-context), so services need not pass it along.
 * Outside a request (the CLI, a SIGHUP reload, a scheduled job) there is none.
 */
export interface RequestOrigin {
  clientAddress: string | null;
  userAgent: string | null;
  traceId: string | null;
}

declare module '@fastify/request-context' {
  interface RequestContextData {
    origin: RequestOrigin;
  }
}

const MAX_USER_AGENT = 256;

function originOf(request: Pick<FastifyRequest, 'ip' | 'id' | 'headers'>): RequestOrigin {
  const ua = request.headers['user-agent'];
  return {
    clientAddress: request.ip ?? null,
    userAgent: typeof ua === 'string' && ua.length ? ua.slice(0, MAX_USER_AGENT) : null,
    traceId: typeof request.id === 'string' ? request.id : null,
  };
}

/** Registers the per-request context on the Fastify instance (before any route runs). */
export async function registerRequestContext(fastify: FastifyInstance): Promise<void> {
  await fastify.register(fastifyRequestContext, {
    defaultStoreValues: (request: FastifyRequest) => ({ origin: originOf(request) }),
  });
}

/** The current request's origin, or undefined outside a request. */
export function currentOrigin(): RequestOrigin | undefined {
  return requestContext.get('origin');
}
