import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../errors/api-error.js';

/**
 * `405 Method Not Allowed` with an `Allow` header for a known path asked with another method (GET on a
 * POST route), instead of a 404 that reads as "no such path". Routes are collected as Fastify registers
 * them; a request that matched no route is checked against their paths before the 404 handler runs.
 * HEAD is left to Fastify (it answers HEAD wherever GET exists) and OPTIONS to CORS.
 */
export function installMethodNotAllowed(fastify: FastifyInstance): void {
  const routes: Array<{ pattern: RegExp; methods: Set<string> }> = [];
  const byUrl = new Map<string, { pattern: RegExp; methods: Set<string> }>();
  fastify.addHook('onRoute', (route) => {
    const methods = (Array.isArray(route.method) ? route.method : [route.method]).map((m) => m.toUpperCase());
    let entry = byUrl.get(route.url);
    if (!entry) {
      entry = { pattern: patternOf(route.url), methods: new Set() };
      byUrl.set(route.url, entry);
      routes.push(entry);
    }
    for (const m of methods) entry.methods.add(m);
  });
  fastify.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.routeOptions?.url !== undefined || request.method === 'OPTIONS') return;
    const path = (request.url ?? '').split('?')[0];
    const allowed = new Set<string>();
    for (const r of routes) if (r.pattern.test(path)) for (const m of r.methods) allowed.add(m);
    allowed.delete('HEAD');
    if (!allowed.size || allowed.has(request.method)) return;
    const allow = [...allowed].sort().join(', ');
    void reply.header('allow', allow);
    throw new ApiError(
      405,
      'method_not_allowed',
      `Method ${request.method} is not allowed on this path: use ${allow}`,
      {
        allow: [...allowed].sort(),
      },
    );
  });
}

/** `/v1/projects/:projectID/tokens` → a RegExp matching one concrete path (a parameter is one segment). */
function patternOf(url: string): RegExp {
  const escaped = url
    .split('/')
    .map((segment) =>
      segment.startsWith(':') ? '[^/]+' : segment === '*' ? '.*' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
    )
    .join('/');
  return new RegExp(`^${escaped}/?$`);
}
