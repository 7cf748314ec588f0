import { Logger } from '@nestjs/common';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { ApiError } from './api-error.js';
import { sendError } from './all-exceptions.filter.js';

/** A real Fastify app whose two routes answer `error` through sendError, in each error dialect. */
function appAnswering(error: () => unknown) {
  const app = Fastify({ requestIdHeader: 'x-trace-id' });
  const logger = new Logger('test');
  app.get('/publisher', (request, reply) => sendError(reply, request, error(), logger));
  app.get('/calyptia', { config: { errorDialect: 'calyptia' } }, (request, reply) =>
    sendError(reply, request, error(), logger),
  );
  return app;
}

async function answers(error: () => unknown, traceId: string) {
  const app = appAnswering(error);
  const out: Record<string, { status: number; type: unknown; retryAfter: unknown; body: string }> = {};
  for (const dialect of ['publisher', 'calyptia']) {
    const res = await app.inject({ url: `/${dialect}`, headers: { 'x-trace-id': traceId } });
    out[dialect] = {
      status: res.statusCode,
      type: res.headers['content-type'],
      retryAfter: res.headers['retry-after'],
      body: res.body,
    };
  }
  await app.close();
  return out;
}

describe('sendError', () => {
  it('answers a shared (frozen) error exactly as the same error made for one request, in both dialects', async () => {
    const cases: Array<[() => ApiError, () => ApiError]> = [
      [
        () => ApiError.unauthenticated(),
        () => new ApiError(401, 'authentication_error', 'Invalid or missing API token'),
      ],
      [
        () => ApiError.unauthenticated('Token expired'),
        () => new ApiError(401, 'authentication_error', 'Token expired'),
      ],
      [
        () => ApiError.rateLimited('Too many', 2_500),
        () => new ApiError(429, 'rate_limited', 'Too many', { retry_after: 3 }, 3),
      ],
    ];
    for (const [shared, fresh] of cases) {
      expect(Object.isFrozen(shared())).toBe(true);
      expect(shared()).toBe(shared()); // made once
      for (const traceId of ['abcdefgh1234', 'trace.id-2_x9']) {
        const got = await answers(shared, traceId);
        expect(got).toEqual(await answers(fresh, traceId));
        expect(JSON.parse(got.publisher.body).error.trace_id).toBe(traceId);
        expect(JSON.parse(got.calyptia.body).trace_id).toBe(traceId);
        expect(got.publisher.type).toBe('application/json; charset=utf-8');
      }
    }
  });
});
