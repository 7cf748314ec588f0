import type { FastifyRequest } from 'fastify';
import { MAX_PRESENTED_TOKEN_LENGTH } from '../tokens/token-codec.js';

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/**
 * The token a request presents: `Authorization: Bearer`, `X-Token` (named-tokens files), `X-API-Key` (API-keys files)
 * or `X-Project-Token` (Calyptia), first one present wins. Absurdly long values count as absent.
 */
export function presentedToken(request: Pick<FastifyRequest, 'headers'>): string | null {
  const h = request.headers;
  const auth = h.authorization;
  let candidate: string | undefined;
  if (typeof auth === 'string' && auth.length) {
    candidate = BEARER.exec(auth)?.[1];
  }
  for (const name of ['x-token', 'x-api-key', 'x-project-token'] as const) {
    if (candidate) break;
    const v = h[name];
    if (typeof v === 'string' && v.trim().length) candidate = v.trim();
  }
  if (!candidate || candidate.length > MAX_PRESENTED_TOKEN_LENGTH) return null;
  return candidate;
}
