import { FASTIFY_ROUTE_CONFIG_METADATA } from '@nestjs/platform-fastify/constants.js';

/** The Fastify route config a route handler declares (Nest passes it to Fastify when the route registers). */
function routeConfigOf(handler: object): Record<string, unknown> {
  return (Reflect.getMetadata(FASTIFY_ROUTE_CONFIG_METADATA, handler) as Record<string, unknown> | undefined) ?? {};
}

/**
 * Adds `config` to a route's Fastify route config, keeping what other decorators put there (Nest's
 * `@RouteConfig` replaces it: two of them on one route would lose one).
 */
export function AddRouteConfig(config: Record<string, unknown>): MethodDecorator {
  return (_target, _key, descriptor) => {
    const handler = descriptor.value as object;
    Reflect.defineMetadata(FASTIFY_ROUTE_CONFIG_METADATA, { ...routeConfigOf(handler), ...config }, handler);
    return descriptor;
  };
}
