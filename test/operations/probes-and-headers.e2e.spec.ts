import { describe, expect, it } from 'vitest';
import { useApp } from '../support/app.js';

const t = useApp({ KEYWARD_CLEANUP_INTERVAL: 'off' });
const api = t.api;
/** The service with the non-default settings (on a database of its own): cache off, CORS origins, Swagger UI persisting. */
const v = useApp({
  KEYWARD_CLEANUP_INTERVAL: 'off',
  KEYWARD_AUTH_CACHE_TTL: '0',
  KEYWARD_DOCS_PERSIST_AUTH: 'true',
  KEYWARD_CORS_ORIGINS: 'https://admin.example.com, https://ops.example.com',
});

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
    const ready = await v.api.get('/health/ready', { token: null });
    expect(ready.status).toBe(200);
    expect(ready.body.details.listener).toEqual({ status: 'up', state: 'off' });
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

  it('forward auth: its 401 carries them too (a gateway may show it to the browser); its body-less 200 to the gateway does not', async () => {
    const denied = await api.get('/v1/auth/check', { token: null });
    expect(denied.status).toBe(401);
    expect(denied.headers.get('content-security-policy')).toMatch(/default-src 'self'/);
    expect(denied.headers.get('x-content-type-options')).toBe('nosniff');
    const created = await api.post('/api-token/create', { access: 'read' });
    const allowed = await api.get('/v1/auth/check', { token: created.body.token });
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('x-keyward-token-id')).toBe(created.body.id);
    expect(allowed.headers.get('content-security-policy')).toBeNull();
    expect(allowed.headers.get('cache-control')).toBe('no-store');
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
    const text = (await v.api.get('/docs/swagger-ui-init.js', { token: null })).text;
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
