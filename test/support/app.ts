import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { afterAll, beforeAll } from 'vitest';
import { createApp } from '../../src/app.factory.js';
import { type AppConfig, loadConfig } from '../../src/config/config.schema.js';
import { createTestDatabase, type TestDatabase } from './db.js';
import { contract } from './openapi-contract.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789-abcdefghij';

export interface TestApp {
  url: string;
  app: NestFastifyApplication;
  config: AppConfig;
  db: TestDatabase;
  close(): Promise<void>;
}

/** The real Nest app, listening on a random loopback port, on this file's own database. */
export async function startApp(env: Record<string, string> = {}, db?: TestDatabase): Promise<TestApp> {
  const database = db ?? (await createTestDatabase());
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN,
    // Every test file hammers the service from 127.0.0.1 with bad tokens on purpose; the throttle has its
    // own tests (auth-throttle.e2e.spec.ts), which set these back.
    KEYWARD_THROTTLE_ADDRESS: '1000000',
    KEYWARD_THROTTLE_TOKEN: '1000000',
    ...database.env,
    ...env,
  });
  const app = await createApp(config);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.getHttpServer().address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}`,
    app,
    config,
    db: database,
    async close() {
      await app.close();
      if (!db) await database.drop();
    },
  };
}

/**
 * A second app with other settings next to `t`: on the same PostgreSQL database, or, on PGlite (one
 * process per directory), on a database of its own.
 */
export function startSibling(t: Pick<TestApp, 'db'>, env: Record<string, string>): Promise<TestApp> {
  return t.db.mode === 'postgres' ? startApp(env, t.db) : startApp(env);
}

/** What `useApp()` returns: the client, and the started app's fields (read them inside tests and hooks). */
export interface UsedApp extends Omit<TestApp, 'close'> {
  /** A client of this app (usable once the app started, i.e. in tests and later hooks). */
  readonly api: Client;
}

/**
 * The app for the enclosing `describe` (or the whole file, at top level): started in `beforeAll` on a
 * database of its own (or beside another used app, see `beside`), closed in `afterAll`. Returns at once;
 * the fields are there once the app started. `env` (or a function giving it, called in `beforeAll`)
 * overrides the test settings of `startApp`.
 *
 *   const t = useApp({ KEYWARD_CLEANUP_INTERVAL: 'off' });
 *   const api = t.api;
 *   it('…', async () => expect((await api.get('/health/live')).status).toBe(200));
 */
export function useApp(
  env: Record<string, string> | (() => Record<string, string>) = {},
  options: { beside?: UsedApp } = {},
): UsedApp {
  let started: TestApp | undefined;
  const current = (): TestApp => {
    if (!started) throw new Error('useApp(): the app is not started yet (use it inside a test or a hook)');
    return started;
  };
  beforeAll(async () => {
    const settings = typeof env === 'function' ? env() : env;
    started = options.beside ? await startSibling(options.beside, settings) : await startApp(settings);
  });
  afterAll(async () => {
    await started?.close();
    started = undefined;
  });
  return {
    api: client(() => current().url),
    get url() {
      return current().url;
    },
    get app() {
      return current().app;
    },
    get config() {
      return current().config;
    },
    get db() {
      return current().db;
    },
  };
}

export interface Res<T = any> {
  status: number;
  body: T;
  headers: Headers;
  text: string;
}

/**
 * A small fetch client: JSON in, JSON out, with the token in the header of your choice. Every answer
 * is checked against the committed OpenAPI document (openapi/openapi.json): a status, body or header
 * the document does not describe throws, so the test that provoked it fails. Paths the document does
 * not have (`/docs`, unknown routes) are not checked; `validate: false` opts one call out.
 */
export function client(base: string | (() => string)) {
  const baseUrl = typeof base === 'string' ? () => base : base;
  async function call<T = any>(
    method: string,
    path: string,
    opts: {
      body?: unknown;
      raw?: string;
      token?: string | null;
      header?: string;
      headers?: Record<string, string>;
      validate?: boolean;
    } = {},
  ): Promise<Res<T>> {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    const token = opts.token === undefined ? ADMIN_TOKEN : opts.token;
    if (token !== null) {
      const header = opts.header ?? 'authorization';
      headers[header] = header === 'authorization' ? `Bearer ${token}` : token;
    }
    let body: string | undefined;
    if (opts.raw !== undefined) body = opts.raw;
    else if (opts.body !== undefined) body = JSON.stringify(opts.body);
    if (body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
      headers['content-type'] = 'application/json';
    }
    const res = await fetch(baseUrl() + path, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON */
    }
    if (opts.validate !== false) {
      const problems = contract().problems(method, path, { status: res.status, headers: res.headers, text });
      if (problems.length > 0) {
        throw new Error(`the answer is not what openapi/openapi.json documents:\n- ${problems.join('\n- ')}`);
      }
    }
    return { status: res.status, body: parsed as T, headers: res.headers, text };
  }
  return {
    call,
    get: <T = any>(path: string, o?: Parameters<typeof call>[2]) => call<T>('GET', path, o),
    post: <T = any>(path: string, body?: unknown, o?: Parameters<typeof call>[2]) =>
      call<T>('POST', path, { ...o, body }),
    patch: <T = any>(path: string, body?: unknown, o?: Parameters<typeof call>[2]) =>
      call<T>('PATCH', path, { ...o, body }),
    delete: <T = any>(path: string, o?: Parameters<typeof call>[2]) => call<T>('DELETE', path, o),
  };
}

export type Client = ReturnType<typeof client>;

/** Asserts the Publisher-style envelope and returns the error object. */
export function envelopeOf(res: Res): {
  code: string;
  message: string;
  data: Record<string, unknown>;
  trace_id: string;
} {
  const e = (res.body as { error?: any })?.error;
  if (
    !e ||
    typeof e.code !== 'string' ||
    typeof e.message !== 'string' ||
    typeof e.trace_id !== 'string' ||
    typeof e.data !== 'object'
  ) {
    throw new Error(`not an error envelope (HTTP ${res.status}): ${res.text.slice(0, 300)}`);
  }
  if (res.headers.get('x-trace-id') !== e.trace_id) throw new Error('X-Trace-Id header differs from trace_id');
  return e;
}

/**
 * Asserts Calyptia's error shape (`{"error": "<message>", "detail"?: "<string>"}`, plus Keyward's `code`,
 * `data` and `trace_id` beside them) and returns it with `message` for `error`, like envelopeOf.
 */
export function calyptiaErrorOf(res: Res): {
  code: string;
  message: string;
  detail?: string;
  data: Record<string, unknown>;
  trace_id: string;
} {
  const b = res.body as Record<string, unknown> | undefined;
  if (
    !b ||
    typeof b.error !== 'string' ||
    (b.detail !== undefined && typeof b.detail !== 'string') ||
    typeof b.code !== 'string' ||
    typeof b.trace_id !== 'string' ||
    typeof b.data !== 'object'
  ) {
    throw new Error(`not a Calyptia-style error (HTTP ${res.status}): ${res.text.slice(0, 300)}`);
  }
  if (res.headers.get('x-trace-id') !== b.trace_id) throw new Error('X-Trace-Id header differs from trace_id');
  return {
    code: b.code,
    message: b.error,
    data: b.data as Record<string, unknown>,
    trace_id: b.trace_id,
    ...(b.detail !== undefined ? { detail: b.detail as string } : {}),
  };
}

/** Either error shape (for loops over routes of both API styles), as envelopeOf returns it. */
export function errorOf(res: Res) {
  return typeof (res.body as { error?: unknown } | undefined)?.error === 'string'
    ? calyptiaErrorOf(res)
    : envelopeOf(res);
}
