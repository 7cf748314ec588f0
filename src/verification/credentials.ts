import type { FastifyRequest } from 'fastify';
import { MAX_PRESENTED_TOKEN_LENGTH } from './token-codec.js';

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;
const OTHER_HEADERS = ['x-token', 'x-api-key', 'x-project-token'] as const;

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
  for (const name of OTHER_HEADERS) {
    if (candidate) break;
    const v = h[name];
    if (typeof v === 'string' && v.length) candidate = v.trim() || undefined;
  }
  if (!candidate || candidate.length > MAX_PRESENTED_TOKEN_LENGTH) return null;
  return candidate;
}
