import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * Calyptia-style paging: when more remain, `Link: <same path and query, with before=cursor>; rel="next"`
 * (Calyptia's clients read `before` from it), plus Keyward's `X-Next-Cursor` with the same cursor.
 */
export function setNextPage(request: FastifyRequest, reply: FastifyReply, next: string | null): void {
  if (!next) return;
  const url = new URL(request.url, 'http://localhost');
  url.searchParams.delete('cursor');
  url.searchParams.set('before', next);
  void reply.header('Link', `<${url.pathname}${url.search}>; rel="next"`).header('X-Next-Cursor', next);
}

export const NEXT_PAGE_HEADERS = {
  Link: {
    description: 'While more remain: `<…?before=…>; rel="next"`, the next page (Calyptia style)',
    schema: { type: 'string', example: '</v1/projects?last=100&before=eyJjIjoi…>; rel="next"' },
  },
  'X-Next-Cursor': {
    description: 'While more remain: the cursor of the next page (its `before`); absent on the last page',
    schema: { type: 'string' },
  },
};
