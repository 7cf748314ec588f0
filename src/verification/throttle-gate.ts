import { Logger } from '@nestjs/common';
import type { FastifyInstance, onRequestHookHandler } from 'fastify';
import { CHECKS_CREDENTIAL } from '../access/access.decorators.js';
import { sendError } from '../common/errors/all-exceptions.filter.js';
import { presentedToken } from './credentials.js';
import type { TokenVerifier } from './token-verifier.js';

const ERRORS = new Logger('Errors');

/**
 * The throttle gate: on every route that checks the credential a request presents (the guard's routes
 * and forward auth, marked CHECKS_CREDENTIAL), a client address the throttle refused a moment ago gets
 * its 429 in Fastify's onRequest, before the body is read and before Nest's pipeline, the guard or the
 * handler run. The answer is the engine's (TokenVerifier.refusalNow: what `check` answers first, so a
 * cached or recently proven credential still passes), sent like every error (sendError); the access log,
 * the request metrics and the response headers see it as any other answer.
 *
 * Under a flood the refusal is the common answer, so it should cost less than the routes it protects.
 * For everyone else the gate costs a map lookup. Public routes are not gated: a probe or a ping is
 * answered whatever credential it carries.
 */
export function installThrottleGate(fastify: FastifyInstance, verifier: TokenVerifier): void {
  const gate: onRequestHookHandler = (request, reply, done) => {
    const credential = presentedToken(request);
    const refusal = credential === null ? null : verifier.refusalNow(credential, request.ip);
    if (refusal === null) return done();
    sendError(reply, request, refusal, ERRORS);
  };
  // Routes register after this (when Nest initialises): each gated route gets the gate as its first
  // own onRequest hook, after the global ones (trace id, request context).
  fastify.addHook('onRoute', (route) => {
    if ((route.config as Record<string, unknown> | undefined)?.[CHECKS_CREDENTIAL] !== true) return;
    const own = route.onRequest ? [route.onRequest].flat() : [];
    route.onRequest = [gate, ...own];
  });
}
