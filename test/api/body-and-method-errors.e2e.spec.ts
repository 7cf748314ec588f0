import { describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, useApp } from '../support/app.js';

/**
 * Body and method errors as the OpenAPI document states them: 415 with one message for any body that is
 * not JSON (any other media type, or none), 405 with `Allow` for a known path asked with another method.
 * Each in its path's error dialect (Publisher envelope, or Calyptia's string `error`).
 */
const t = useApp();

const UNSUPPORTED = 'Unsupported Content-Type: send application/json';

async function send(method: string, path: string, init: { body?: string; type?: string | null } = {}) {
  const headers: Record<string, string> = { authorization: `Bearer ${ADMIN_TOKEN}` };
  if (init.type) headers['content-type'] = init.type;
  // fetch adds text/plain to a string body; a Blob without a type sends none.
  const body = init.body === undefined ? undefined : init.type === null ? new Blob([init.body]) : init.body;
  const res = await fetch(`${t.url}${path}`, { method, headers, body });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, any> };
}

describe('415 for every body that is not JSON', () => {
  const object = JSON.stringify({ access: 'read' });
  it.each([
    ['no Content-Type', null],
    ['text/plain holding a JSON object', 'text/plain'],
    ['text/plain; charset=utf-8', 'text/plain; charset=utf-8'],
    ['application/x-www-form-urlencoded', 'application/x-www-form-urlencoded'],
    ['multipart/form-data', 'multipart/form-data; boundary=x'],
    ['application/xml', 'application/xml'],
    ['application/octet-stream', 'application/octet-stream'],
  ])('%s → 415 in the Publisher envelope', async (_, type) => {
    const res = await send('POST', '/publisher.v1/api-token/create', { body: object, type });
    expect(res.status).toBe(415);
    expect(res.body.error).toMatchObject({ code: 'unsupported_media_type', message: UNSUPPORTED });
  });

  it('in the Calyptia dialect on Calyptia paths', async () => {
    const res = await send('POST', '/v1/projects', { body: JSON.stringify({ name: 'p' }), type: 'text/plain' });
    expect(res.status).toBe(415);
    expect(res.body).toMatchObject({ error: UNSUPPORTED, code: 'unsupported_media_type' });
  });

  it('a POST without a body needs no Content-Type (curl -X POST)', async () => {
    expect((await send('POST', '/publisher.v1/api-token/list')).status).toBe(200);
  });

  it('application/json and +json media types are read', async () => {
    for (const type of ['application/json', 'application/json; charset=utf-8', 'application/vnd.keyward+json']) {
      expect((await send('POST', '/publisher.v1/api-token/create', { body: object, type })).status, type).toBe(200);
    }
  });
});

describe('405 with Allow for a known path asked with another method', () => {
  it.each([
    ['GET', '/publisher.v1/api-token/create', 'POST'],
    ['GET', '/api-token/list', 'POST'],
    ['DELETE', '/auth/tokens', 'POST'],
    ['PUT', '/v1/tokens/verify', 'POST'],
    ['POST', '/health/ready', 'GET'],
  ])('%s %s → 405, Allow: %s', async (method, path, allow) => {
    const res = await send(method, path);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe(allow);
    expect(res.body.error).toMatchObject({ code: 'method_not_allowed' });
    expect(res.body.error.message).toContain(allow);
  });

  it('with path parameters, in the Calyptia dialect', async () => {
    const res = await send('PUT', '/v1/projects/00000000-0000-4000-8000-000000000000');
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('DELETE, GET, PATCH');
    expect(res.body).toMatchObject({ code: 'method_not_allowed' });
    expect(typeof res.body.error).toBe('string');
  });

  it('an unknown path stays 404', async () => {
    const res = await send('GET', '/publisher.v1/api-token/nothing-here');
    expect(res.status).toBe(404);
  });
});
