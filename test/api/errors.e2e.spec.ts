import { request as httpRequest } from 'node:http';
import { describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, envelopeOf, useApp } from '../support/app.js';

const t = useApp();
const api = t.api;

const create = (raw: string, headers: Record<string, string> = {}) =>
  api.call('POST', '/api-token/create', { raw, headers: { 'content-type': 'application/json', ...headers } });

describe('bad input is a 4xx in the envelope, never a 500', () => {
  it.each([
    ['malformed JSON', '{"access": "read"'],
    ['JSON array', '[{"access":"read"}]'],
    ['JSON string', '"read"'],
    ['JSON number', '42'],
    ['JSON null', 'null'],
    ['wrong type', '{"access": 1}'],
    ['unknown field', '{"access": "read", "admin": true}'],
    ['prototype pollution', '{"access": "read", "__proto__": {"admin": true}}'],
    ['constructor pollution', '{"access": "read", "constructor": {"prototype": {"admin": true}}}'],
    ['NUL byte in a string', '{"access": "read", "description": "a\\u0000b"}'],
    ['lone surrogate', '{"access": "read", "description": "\\ud800"}'],
    ['over-long description', JSON.stringify({ access: 'read', description: 'x'.repeat(501) })],
    ['deep nesting', '{"access": "read", "description": ' + '['.repeat(5000) + ']'.repeat(5000) + '}'],
    ['date in absurd year', '{"access": "read", "expires_at": "99999-01-01T00:00:00Z"}'],
  ])('%s → 400 bad_request', async (_, raw) => {
    const res = await create(raw);
    expect(res.status, res.text).toBe(400);
    expect(envelopeOf(res).code).toBe('bad_request');
  });

  it('names each invalid field in data.fields', async () => {
    const res = await create('{"access": "root", "description": 7, "bogus": 1}');
    const e = envelopeOf(res);
    expect(Object.keys(e.data.fields as object).sort()).toEqual(['access', 'bogus', 'description']);
  });

  it('huge bodies → 413 payload_too_large', async () => {
    const res = await create(JSON.stringify({ access: 'read', description: 'x'.repeat(200_000) }));
    expect(res.status).toBe(413);
    expect(envelopeOf(res).code).toBe('payload_too_large');
  });

  it('non-JSON content types → 415', async () => {
    const res = await api.call('POST', '/api-token/create', {
      raw: 'access=read',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(res.status).toBe(415);
    expect(envelopeOf(res).code).toBe('unsupported_media_type');
  });

  it('a +json media type is read as JSON', async () => {
    const res = await create('{"access":"read"}', { 'content-type': 'application/vnd.pkglatv1+json' });
    expect(res.status).toBe(200);
  });

  it('an unknown path → 404 not_found', async () => {
    const res = await api.call('GET', '/nope');
    expect(res.status).toBe(404);
    expect(envelopeOf(res).code).toBe('not_found');
  });

  it('a known path with another method → 405 method_not_allowed with Allow', async () => {
    for (const [method, path] of [
      ['GET', '/api-token/list'],
      ['DELETE', '/publisher.v1/api-token/create'],
    ] as const) {
      const res = await fetch(`${t.url}${path}`, { method });
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe('POST');
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('method_not_allowed');
    }
  });

  it('absurd headers → 4xx', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${t.url}/api-token/list`, {
        method: 'POST',
        headers: { authorization: `Bearer ${'x'.repeat(100_000)}`, 'content-type': 'application/json' },
      });
      req.on('response', (res) => resolve(res.statusCode ?? 0));
      req.on('error', reject);
      req.end('{}');
    });
    expect(status).toBeGreaterThanOrEqual(400);
    expect(status).toBeLessThan(500);
    // A long but legal header is simply not a token.
    const res = await api.post('/api-token/list', {}, { token: 'y'.repeat(8000) });
    expect(res.status).toBe(401);
  });

  it('every response carries X-Trace-Id, and a well-formed incoming X-Request-Id is reused', async () => {
    const ok = await api.get('/api/v1/public/ping', { token: null });
    expect(ok.headers.get('x-trace-id')).toMatch(/^[0-9a-f]{24}$/);
    const res = await api.call('POST', '/api-token/list', {
      token: 'nope',
      headers: { 'x-request-id': 'req-12345678' },
    });
    expect(envelopeOf(res).trace_id).toBe('req-12345678');
    const evil = await api.call('POST', '/api-token/list', { token: 'nope', headers: { 'x-request-id': '<script>' } });
    expect(envelopeOf(evil).trace_id).toMatch(/^[0-9a-f]{24}$/);
  });

  it('data survives bad input: a token created before a storm of bad requests still works', async () => {
    const made = await api.post('/api-token/create', { access: 'read' });
    await Promise.all(Array.from({ length: 30 }, (_, i) => create(i % 2 ? '{"access":' : '[]')));
    expect((await api.post('/api-token/list', {}, { token: made.body.token })).status).toBe(200);
    expect((await api.post('/api-token/list', {}, { token: ADMIN_TOKEN })).status).toBe(200);
  });
});
