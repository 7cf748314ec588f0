import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * Extra fields for this request's access-log line, set by whoever knows them (e.g. forward auth's
     * original method and URI). Never a secret.
     */
    logFields?: Record<string, unknown>;
  }
}

/** Adds fields to the request's access-log line. */
export function addLogFields(request: FastifyRequest, fields: Record<string, unknown>): void {
  request.logFields = { ...request.logFields, ...fields };
}

/** What every observer of a finished request gets (the access log, the request metrics). */
export interface RequestSummary {
  method: string;
  /** The route pattern (`/v1/projects/:projectID`), or null when no route matched (404). */
  route: string | null;
  status: number;
  durationMs: number;
  /** The authenticated caller's id (a token id, `admin`, `file:<name>`), if any. */
  tokenId: string | null;
  client: string;
  traceId: string;
}

function summarize(request: FastifyRequest, reply: FastifyReply): RequestSummary {
  const principal = (request as { principal?: { id: string } }).principal;
  return {
    method: request.method,
    route: request.routeOptions?.url ?? null,
    status: reply.statusCode,
    durationMs: Math.round(reply.elapsedTime * 100) / 100,
    tokenId: principal?.id ?? null,
    client: request.ip,
    traceId: String(request.id),
  };
}

export interface AccessLogOptions {
  /**
   * What a request presented, for failed authentications: `none`, `other` (not a Keyward-format token:
   * garbage, a tokens-file or admin secret) or the non-secret lookup id of a Keyward token (the part
   * stored in clear). Never the token.
   */
  credentialOf(request: FastifyRequest): { credential: 'none' | 'other' } | { lookup_id: string };
  /** Called for every finished request, after its log line (the request metrics). */
  observers?: Array<(summary: RequestSummary) => void>;
}

/**
 * One structured line per request, from Fastify's onResponse hook (so 404s, body-limit and JSON errors,
 * and failed authentications are there too): method, route pattern, status, duration, caller, client
 * address, trace id, plus any `request.logFields`. A failed authentication (401) is logged at `info`
 * with the lookup id only, never the token. Server errors (5xx) are logged at `error`.
 */
export function installAccessLog(fastify: FastifyInstance, logger: Logger, options: AccessLogOptions): void {
  const log = logger.child({ context: 'access' });
  fastify.addHook('onResponse', async (request, reply) => {
    const s = summarize(request, reply);
    const line: Record<string, unknown> = {
      method: s.method,
      route: s.route,
      status: s.status,
      duration_ms: s.durationMs,
      client: s.client,
      trace_id: s.traceId,
      ...(s.tokenId ? { token_id: s.tokenId } : {}),
      ...request.logFields,
    };
    if (s.status === 401) {
      line.auth = 'failed';
      Object.assign(line, options.credentialOf(request));
    }
    const msg = `${s.method} ${s.route ?? '(no route)'} ${s.status}`;
    if (s.status >= 500) log.error(line, msg);
    else log.info(line, msg);
    for (const observe of options.observers ?? []) observe(s);
  });
}
