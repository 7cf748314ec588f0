import { describe, expect, it } from 'vitest';
import { CleanupService } from '../../src/cleanup/cleanup.service.js';
import { TokenCodec } from '../../src/verification/token-codec.js';
import { ADMIN_TOKEN, client, envelopeOf, useApp } from '../support/app.js';
import { parsePrometheus, valueOf } from '../support/prometheus.js';

/** Prometheus `/metrics`: parsed as exposition text, every named family present and moving with traffic. */
const t = useApp({ KEYWARD_CLEANUP_INTERVAL: 'off' });
const api = t.api;

const FAMILIES = {
  keyward_build_info: 'gauge',
  keyward_http_request_duration_seconds: 'histogram',
  keyward_http_throttled_requests_total: 'counter',
  keyward_verifications_total: 'counter',
  keyward_auth_cache_hits_total: 'counter',
  keyward_auth_cache_misses_total: 'counter',
  keyward_auth_cache_entries: 'gauge',
  keyward_auth_cache_max_entries: 'gauge',
  keyward_argon2_duration_seconds: 'histogram',
  keyward_argon2_in_flight: 'gauge',
  keyward_argon2_queue_depth: 'gauge',
  keyward_argon2_rejected_total: 'counter',
  keyward_auth_throttled_total: 'counter',
  keyward_auth_negative_cache_hits_total: 'counter',
  keyward_cleanup_runs_total: 'counter',
  keyward_cleanup_deleted_rows_total: 'counter',
  keyward_cleanup_duration_seconds_total: 'counter',
  keyward_cleanup_last_duration_seconds: 'gauge',
  keyward_cleanup_last_run_timestamp_seconds: 'gauge',
  keyward_token_listener_connected: 'gauge',
  process_cpu_user_seconds_total: 'counter',
  nodejs_eventloop_lag_seconds: 'gauge',
} as const;
const POOL_FAMILIES = {
  keyward_db_pool_connections: 'gauge',
  keyward_db_pool_waiting: 'gauge',
  keyward_db_pool_max: 'gauge',
};

async function scrape() {
  const res = await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePrometheus(await res.text());
}

describe('GET /metrics', () => {
  it('has every named family, with its type (read with the admin token)', async () => {
    const families = await scrape();
    const expected: Record<string, string> = { ...FAMILIES, ...(t.db.mode === 'postgres' ? POOL_FAMILIES : {}) };
    for (const [name, type] of Object.entries(expected)) {
      expect(families.get(name)?.type, name).toBe(type);
    }
    expect(valueOf(families, 'keyward_build_info')).toBe(1);
    expect(valueOf(families, 'keyward_token_listener_connected')).toBe(1);
    if (t.db.mode === 'postgres') expect(valueOf(families, 'keyward_db_pool_max')).toBe(10);
  });

  it('moves with traffic: requests, verdicts, cache, argon2, cleanup', async () => {
    const before = await scrape();
    const created = (await api.post('/api-token/create', { access: 'write' })).body as { id: string; token: string };
    const mine = client(t.url);
    const asMine = { token: created.token };
    expect((await mine.post('/api-token/list', {}, asMine)).status).toBe(200); // miss + argon2 verify
    expect((await mine.post('/api-token/list', {}, asMine)).status).toBe(200); // cache hit
    const unknown = new TokenCodec('kw_').generate().token;
    expect((await mine.post('/api-token/list', {}, { token: unknown })).status).toBe(401);
    expect((await api.post('/v1/tokens/verify', { token: created.token })).body.code).toBe('VALID');
    expect((await api.post('/v1/tokens/verify', { token: unknown })).body.code).toBe('NOT_FOUND');
    // A single-use token, consumed, then deleted by a cleanup pass.
    const once = (await api.post('/auth/tokens', { ttl: '1h', remove_on_use: true })).body as { token: string };
    expect((await mine.post('/api-token/list', {}, { token: once.token })).status).toBe(200);
    const pass = await t.app.get(CleanupService).runOnce();
    expect(pass).toMatchObject({ skipped: false });

    const after = await scrape();
    const moved = (name: string, labels: Record<string, string> = {}) =>
      valueOf(after, name, labels) - valueOf(before, name, labels);
    expect(
      moved('keyward_http_request_duration_seconds_count', {
        method: 'POST',
        route: '/api-token/create',
        status: '200',
      }),
    ).toBe(1);
    expect(
      moved('keyward_http_request_duration_seconds_count', { method: 'POST', route: '/api-token/list', status: '401' }),
    ).toBe(1);
    expect(moved('keyward_verifications_total', { via: 'auth', code: 'VALID' })).toBeGreaterThanOrEqual(3);
    expect(moved('keyward_verifications_total', { via: 'auth', code: 'NOT_FOUND' })).toBe(1);
    expect(moved('keyward_verifications_total', { via: 'verify_api', code: 'VALID' })).toBe(1);
    expect(moved('keyward_verifications_total', { via: 'verify_api', code: 'NOT_FOUND' })).toBe(1);
    expect(moved('keyward_auth_cache_hits_total')).toBeGreaterThanOrEqual(1);
    expect(moved('keyward_auth_cache_misses_total')).toBeGreaterThanOrEqual(2);
    expect(valueOf(after, 'keyward_auth_cache_entries')).toBeGreaterThan(0);
    expect(moved('keyward_argon2_duration_seconds_count', { op: 'hash' })).toBeGreaterThanOrEqual(2);
    expect(moved('keyward_argon2_duration_seconds_count', { op: 'verify' })).toBeGreaterThanOrEqual(2);
    expect(moved('keyward_argon2_duration_seconds_sum', { op: 'hash' })).toBeGreaterThan(0);
    expect(moved('keyward_cleanup_runs_total', { outcome: 'ran' })).toBe(1);
    expect(moved('keyward_cleanup_deleted_rows_total', { reason: 'used' })).toBe(1);
    expect(valueOf(after, 'keyward_cleanup_last_run_timestamp_seconds')).toBeGreaterThan(0);
    if (t.db.mode === 'postgres') {
      expect(valueOf(after, 'keyward_db_pool_connections', { state: 'total' })).toBeGreaterThan(0);
    }
  });

  describe('with KEYWARD_METRICS_TOKEN', () => {
    const METRICS_TOKEN = 'metrics-scraper-secret-0123456789';
    const guarded = useApp({ KEYWARD_METRICS_TOKEN: METRICS_TOKEN, KEYWARD_CLEANUP_INTERVAL: 'off' }, { beside: t });

    it('answers 401 without a token or with a wrong one, and 200 with it or with the admin token', async () => {
      const g = guarded.api;
      expect((await g.get('/metrics', { token: ADMIN_TOKEN })).status).toBe(200);
      for (const token of [null, 'wrong-metrics-token-0123456789']) {
        const res = await g.get('/metrics', { token });
        expect(res.status, String(token)).toBe(401);
        expect(envelopeOf(res).code).toBe('authentication_error');
      }
      const ok = await g.get('/metrics', { token: METRICS_TOKEN });
      expect(ok.status).toBe(200);
      expect(parsePrometheus(ok.text).get('keyward_verifications_total')?.type).toBe('counter');
    });
  });
});
