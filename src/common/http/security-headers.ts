import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import helmet, { type HelmetOptions } from 'helmet';

/** Route config of answers read by a gateway, not a browser (forward auth): see installResponseHeaders. */
export const GATEWAY_ANSWER = { gatewayAnswer: true } as const;

/**
 * The headers helmet sets with these options, computed once. Helmet's headers do not depend on the
 * request, so running its middleware per request (as the Fastify plugin does, re-parsing the CSP
 * directives every time) only costs time: ~20 % of a bare request's CPU on this stack.
 */
function helmetHeaders(options: HelmetOptions): Readonly<Record<string, string>> {
  const headers: Record<string, string> = {};
  const res = {
    setHeader: (name: string, value: unknown) => void (headers[name.toLowerCase()] = String(value)),
    removeHeader: (name: string) => void delete headers[name.toLowerCase()],
  };
  helmet(options)({} as IncomingMessage, res as unknown as ServerResponse, () => undefined);
  return Object.freeze(headers);
}

/**
 * Every answer says `Cache-Control: no-store` unless it sets its own caching (only Swagger UI's static
 * files do): secrets are never cached, which covers every create and rotate answer. Every answer also
 * carries helmet's security headers (CSP, nosniff, no framing, ...), except the 2xx answers of routes
 * marked GATEWAY_ANSWER: a forward-auth 200 has no body and is read by nginx, Traefik or Envoy, which
 * pass on only the identity headers they are told to; its 401/403/429, which a gateway may show to the
 * browser, carry them.
 */
export function installSecurityHeaders(fastify: FastifyInstance, options: HelmetOptions): void {
  const security = helmetHeaders(options);
  fastify.addHook(
    'onSend',
    (request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (e: null, p: unknown) => void) => {
      if (!reply.hasHeader('cache-control')) void reply.header('cache-control', 'no-store');
      const config = request.routeOptions.config as { gatewayAnswer?: boolean } | undefined;
      if (!(config?.gatewayAnswer && reply.statusCode < 300)) void reply.headers(security);
      done(null, payload);
    },
  );
}
