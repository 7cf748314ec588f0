import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Logger } from '@nestjs/common';
import type { KeywardFastifyAdapter } from '../../src/common/http/http-adapter.js';
import { ADMIN_TOKEN, client, errorOf, type Res, startApp, useApp } from '../support/app.js';

let errorLogs: string[] = [];

const t = useApp();
const api = t.api;

beforeAll(async () => {
  vi.spyOn(Logger.prototype, 'error').mockImplementation(function (...args: unknown[]) {
    errorLogs.push(args.map(String).join(' '));
  });
});
// Files of a worker share their modules (isolate: false): leave Nest's Logger as it was.
afterAll(() => vi.restoreAllMocks());

const cursorOf = (body: object) => Buffer.from(JSON.stringify(body)).toString('base64url');
const SOME_ID = '123e4567-e89b-12d3-a456-426614174000';

function expect400(res: Res, field?: string) {
  expect(res.status, res.text).toBe(400);
  const e = errorOf(res);
  expect(e.code).toBe('bad_request');
  if (field) expect(Object.keys((e.data.fields as object) ?? {})).toContain(field);
}

/** Raw bytes on a socket: for requests fetch() refuses to send. */
function rawRequest(text: string): Promise<string> {
  const { port } = new URL(t.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1');
    let out = '';
    socket.on('data', (d) => (out += d.toString('utf8')));
    socket.on('end', () => resolve(out));
    socket.on('error', reject);
    socket.write(text);
  });
}

describe('edge-case inputs get a 2xx or a 4xx envelope, never a 500', () => {
  it('"grace": null on both rotate routes means no grace', async () => {
    const a = await api.post('/api-token/create', { access: 'read' });
    const rest = await api.post(`/v1/tokens/${a.body.id}/rotate`, { grace: null });
    expect(rest.status, rest.text).toBe(200);
    expect(rest.body.previous_expires_at).toBeNull();
    const rpc = await api.post('/api-token/rotate', { id: a.body.id, grace: null });
    expect(rpc.status, rpc.text).toBe(200);
    expect(rpc.body.previous_expires_at).toBeNull();
  });

  it.each(['2030-12-31T23:59:60Z', '2030-06-30T23:59:60+00:00'])(
    'a leap second in expires_at (%s) is a 400',
    async (d) => {
      expect400(await api.post('/api-token/create', { access: 'read', expires_at: d }), 'expires_at');
    },
  );

  it.each(['2030-02-30T00:00:00Z', '2029-02-29T12:00:00Z', '2030-04-31T00:00:00Z', '2030-12-31T24:00:00Z'])(
    'an impossible calendar date (%s) is a 400, not stored as another day',
    async (d) => {
      expect400(await api.post('/api-token/create', { access: 'read', expires_at: d }), 'expires_at');
    },
  );

  it('a real leap day is accepted as written', async () => {
    const res = await api.post('/api-token/create', { access: 'read', expires_at: '2028-02-29T12:00:00Z' });
    expect(res.status, res.text).toBe(200);
    expect(res.body.expires_at).toBe('2028-02-29T12:00:00Z');
  });

  it.each([
    ['year 0', { c: '0000-01-01T00:00:00.000Z', i: SOME_ID, d: 'desc' }],
    ['year -1', { c: '-000001-01-01T00:00:00.000Z', i: SOME_ID, d: 'desc' }],
    ['year 275760', { c: '+275760-09-13T00:00:00.000Z', i: SOME_ID, d: 'asc' }],
    ['February 30', { c: '2030-02-30T00:00:00.000Z', i: SOME_ID, d: 'asc' }],
    ['not ISO', { c: 'Tue, 01 Jan 2030 00:00:00 GMT', i: SOME_ID, d: 'asc' }],
  ])('a list cursor carrying %s is a 400 on both lists', async (_, body) => {
    expect400(await api.post('/api-token/list', { pagination: { cursor: cursorOf(body) } }), 'pagination.cursor');
    expect400(await api.get(`/v1/projects?cursor=${cursorOf(body)}`), 'cursor');
  });

  it('a real cursor still pages', async () => {
    await api.post('/api-token/create', { access: 'read' });
    await api.post('/api-token/create', { access: 'read' });
    const first = await api.post('/api-token/list', { pagination: { limit: 1 } });
    expect(first.body.page.more).toBe(true);
    const next = await api.post('/api-token/list', { pagination: { limit: 1, cursor: first.body.page.cursor } });
    expect(next.status, next.text).toBe(200);
    expect(next.body.data[0].id).not.toBe(first.body.data[0].id);
  });

  it('NUL in a query string or path parameter is a 400', async () => {
    const p = await api.post('/v1/projects', { name: 'nul-project' });
    expect400(await api.get(`/v1/projects/${p.body.id}/tokens?name=%00`), 'name');
    expect400(await api.get(`/v1/projects/${p.body.id}/tokens?name=a%00b&last=1`), 'name');
    expect400(await api.get(`/v1/projects?cursor=%00`));
    expect400(await api.get(`/v1/projects/%00`));
    // Without a token it is still a 401 first.
    const anon = await api.get(`/v1/projects/${p.body.id}/tokens?name=%00`, { token: null });
    expect(anon.status).toBe(401);
  });
});

describe("Fastify's own answers are envelopes with a trace id", () => {
  it('a path parameter over the router limit is a 414 envelope', async () => {
    const res = await api.get(`/v1/projects/${'a'.repeat(300)}`);
    expect(res.status).toBe(414);
    expect(errorOf(res).code).toBe('bad_request');
  });

  it('malformed percent-encoding in the path is a 400 envelope', async () => {
    const res = await api.get('/v1/projects/%E0%A4%A');
    expect(res.status).toBe(400);
    expect(errorOf(res).code).toBe('bad_request');
  });

  it('an unparseable HTTP request gets an envelope with X-Trace-Id', async () => {
    const out = await rawRequest('THIS IS NOT HTTP\r\n\r\n');
    expect(out).toMatch(/^HTTP\/1\.1 400 /);
    const traceId = /\r\nx-trace-id: (\S+)\r\n/i.exec(out)?.[1];
    const body = JSON.parse(out.slice(out.indexOf('\r\n\r\n') + 4));
    expect(body.error).toMatchObject({ code: 'bad_request', trace_id: traceId });
  });

  it('headers over the size limit are a 431 envelope', async () => {
    const out = await rawRequest(`GET /api/v1/public/ping HTTP/1.1\r\nHost: x\r\nX-Big: ${'y'.repeat(20_000)}\r\n\r\n`);
    expect(out).toMatch(/^HTTP\/1\.1 431 /);
    expect(JSON.parse(out.slice(out.indexOf('\r\n\r\n') + 4)).error.code).toBe('bad_request');
  });
});

describe('logs', () => {
  it('an unexpected error logs its class and stack frames, never its message', async () => {
    errorLogs = [];
    const { sendError } = await import('../../src/common/errors/all-exceptions.filter.js');
    const secret = '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g lookupId: "AbCdEfGh12345678"';
    const err = Object.assign(
      new Error(`Invalid \`prisma.apiToken.create()\` invocation: { secretHash: "${secret}" }`),
      {
        name: 'PrismaClientValidationError',
      },
    );
    const sent: { status?: number; body?: any } = {};
    const reply = {
      sent: false,
      headers: () => reply,
      header: () => reply,
      status: (s: number) => ((sent.status = s), reply),
      send: (b: unknown) => ((sent.body = b), reply),
    };
    sendError(reply as never, { id: 'trace-12345678', headers: {} } as never, err, new Logger('Errors'));
    expect(sent.status).toBe(500);
    expect(errorLogs.join('\n')).toContain('PrismaClientValidationError');
    expect(errorLogs.join('\n')).toContain('trace-12345678');
    expect(errorLogs.join('\n')).not.toContain('argon2id');
    expect(errorLogs.join('\n')).not.toContain('AbCdEfGh12345678');
    expect(JSON.stringify(sent.body)).not.toContain('argon2id');
  });
});

describe('shutdown', () => {
  it('from the first step of app.close(), requests get a 503 envelope with Retry-After', async () => {
    const own = await startApp(); // its own database: PGlite allows one app per directory
    try {
      const ownApi = client(own.url);
      expect((await ownApi.get('/api/v1/public/ping', { token: null })).status).toBe(200);
      // app.close() starts with the adapter's beforeClose(); the rest (database, server) follows.
      (own.app.getHttpAdapter() as unknown as KeywardFastifyAdapter).beforeClose();
      for (const res of [
        await ownApi.get('/api/v1/public/ping', { token: null }),
        await ownApi.post('/api-token/list', {}, { token: ADMIN_TOKEN }),
      ]) {
        expect(res.status).toBe(503);
        expect(errorOf(res).code).toBe('service_unavailable');
        expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      }
    } finally {
      await own.close();
    }
  }, 120_000); // a second app (on PGlite: a second embedded database) starts slowly on a busy machine
});
