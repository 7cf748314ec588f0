import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, type Client, envelopeOf, startApp, startSibling, type TestApp } from './support/app.js';
import { havePostgresBinaries, type PrivatePostgres, startPrivatePostgres } from './support/private-postgres.js';

let t: TestApp;
let api: Client;
/** The same service with the non-default settings: cache off, CORS origins, Swagger UI persisting. */
let v: TestApp;

beforeAll(async () => {
  t = await startApp({ KEYWARD_CLEANUP_INTERVAL: 'off' });
  api = client(t.url);
  v = await startSibling(t, {
    KEYWARD_CLEANUP_INTERVAL: 'off',
    KEYWARD_AUTH_CACHE_TTL: '0',
    KEYWARD_DOCS_PERSIST_AUTH: 'true',
    KEYWARD_CORS_ORIGINS: 'https://admin.example.com, https://ops.example.com',
  });
}, 240_000);
afterAll(async () => {
  await v?.close();
  await t?.close();
}, 120_000);

async function until<T>(
  probe: () => Promise<T>,
  done: (v: T) => boolean,
  what: string,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('probes', () => {
  it('GET /health/live and /health/ready answer without a token', async () => {
    const live = await api.get('/health/live', { token: null });
    expect(live.status).toBe(200);
    expect(live.body).toMatchObject({ status: 'ok' });
    const ready = await api.get('/health/ready', { token: null });
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({
      status: 'ok',
      details: {
        database: { status: 'up', kind: t.db.mode },
        migrations: { status: 'up' },
        // On the embedded database changes arrive in-process: no connection to claim.
        listener: { status: 'up', state: t.db.mode === 'pglite' ? 'embedded' : 'connected' },
      },
    });
  });

  it('the listener check is up with the cache off (no listener is needed then)', async () => {
    const ready = await client(v.url).get('/health/ready', { token: null });
    expect(ready.status).toBe(200);
    expect(ready.body.details.listener).toEqual({ status: 'up', state: 'off' });
  });

  describe.skipIf(!havePostgresBinaries)('with its own PostgreSQL server, stopped and started again', () => {
    let pg: PrivatePostgres;
    let app: TestApp;
    beforeAll(async () => {
      pg = await startPrivatePostgres();
      app = await startApp(
        { KEYWARD_CLEANUP_INTERVAL: 'off' },
        { mode: 'postgres', url: pg.url, env: { DATABASE_URL: pg.url }, drop: async () => undefined },
      );
    }, 120_000);
    afterAll(async () => {
      await app?.close().catch(() => undefined);
      pg?.destroy();
    }, 120_000);

    it('ready answers 503 while the database is down, live stays 200, and ready recovers', async () => {
      const probes = client(app.url);
      expect((await probes.get('/health/ready', { token: null })).status).toBe(200);
      pg.stop('immediate');
      const down = await until(
        () => probes.get('/health/ready', { token: null }),
        (r) => r.status === 503,
        'ready to answer 503',
      );
      const error = envelopeOf(down);
      expect(error.code).toBe('service_unavailable');
      expect(error.data).toMatchObject({ status: 'error', error: { database: { status: 'down' } } });
      expect((await probes.get('/health/live', { token: null })).status).toBe(200);

      pg.start();
      const up = await until(
        () => probes.get('/health/ready', { token: null }),
        (r) => r.status === 200,
        'ready to answer 200 again',
      );
      expect(up.body.details.listener).toMatchObject({ status: 'up', state: 'connected' });
    });
  });
});

describe('security headers', () => {
  it('every response has a CSP without inline scripts, nosniff and no framing', async () => {
    for (const path of ['/docs', '/api/v1/public/ping', '/health/ready']) {
      const res = await api.get(path, { token: null });
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp, path).toMatch(/default-src 'self'/);
      expect(csp).toMatch(/script-src 'self'(;|$)/);
      expect(csp).toMatch(/frame-ancestors 'none'/);
      expect(csp).not.toMatch(/upgrade-insecure-requests/);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    }
  });

  it('Swagger UI works under that CSP: only same-origin script files, no inline script, every asset served', async () => {
    const html = (await api.get('/docs', { token: null })).text;
    const scripts = [...html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThanOrEqual(3);
    for (const [, attrs, body] of scripts) {
      expect(attrs).toMatch(/src=/); // an inline script would be blocked by script-src 'self'
      expect(body.trim()).toBe('');
    }
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(assets).toContain('./docs/swagger-ui-init.js');
    for (const asset of assets) {
      expect(asset).not.toMatch(/^(https?:)?\/\//); // same origin only
      const res = await fetch(new URL(asset, `${t.url}/`));
      expect(res.status, asset).toBe(200);
    }
  });

  it('Swagger UI does not persist the typed token unless KEYWARD_DOCS_PERSIST_AUTH is set', async () => {
    const init = (await api.get('/docs/swagger-ui-init.js', { token: null })).text;
    expect(init).toMatch(/"persistAuthorization": false/);
    const text = (await client(v.url).get('/docs/swagger-ui-init.js', { token: null })).text;
    expect(text).toMatch(/"persistAuthorization": true/);
  });
});

describe('Cache-Control: no-store', () => {
  it('is on every answer that carries a secret, in every API style, and on errors', async () => {
    const created = await api.post('/api-token/create', { access: 'write' });
    expect(created.body.token).toBeTruthy();
    const project = (await api.post('/v1/projects', { name: `nostore-${Date.now()}` })).body as { id: string };
    const answers = [
      created,
      await api.post('/publisher.v1/api-token/create', { access: 'read' }),
      await api.post('/api-token/rotate', { id: created.body.id }),
      await api.post(`/v1/tokens/${created.body.id}/rotate`, {}),
      await api.post(`/v1/projects/${project.id}/tokens`, { name: 'nostore', permissions: ['read:token'] }),
      await api.post('/auth/tokens', { ttl: '1h' }),
    ];
    for (const res of answers) {
      expect(res.status, res.text).toBeLessThan(300);
      expect(res.body.token).toBeTruthy();
      expect(res.headers.get('cache-control')).toBe('no-store');
    }
    expect((await api.post('/api-token/list', {}, { token: null })).headers.get('cache-control')).toBe('no-store');
  });
});

describe('CORS', () => {
  const preflight = (base: string, origin: string) =>
    fetch(`${base}/api-token/list`, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type',
      },
    });

  it('is off by default: no Access-Control-Allow-Origin for any origin', async () => {
    const res = await preflight(t.url, 'https://admin.example.com');
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    const get = await fetch(`${t.url}/api/v1/public/ping`, { headers: { origin: 'https://admin.example.com' } });
    expect(get.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('allows exactly the origins of KEYWARD_CORS_ORIGINS', async () => {
    const cors = v;
    const ok = await preflight(cors.url, 'https://admin.example.com');
    expect(ok.status).toBeLessThan(300);
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://admin.example.com');
    expect(ok.headers.get('access-control-allow-methods')).toMatch(/POST/);
    const other = await preflight(cors.url, 'https://evil.example.com');
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const get = await fetch(`${cors.url}/api/v1/public/ping`, { headers: { origin: 'https://ops.example.com' } });
    expect(get.headers.get('access-control-allow-origin')).toBe('https://ops.example.com');
    expect(get.headers.get('access-control-expose-headers')).toMatch(/x-trace-id/i);
  });
});
