import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, type Client, startApp, type TestApp } from '../support/app.js';
import { createProject, createProjectToken } from '../support/projects.js';

/**
 * The list routes answer with ONE database statement (the project's existence folded into the token
 * list). Counted at the driver, in this process (the app runs in-process): every statement the ORM or
 * the repositories send goes through `pg.Client#query` on PostgreSQL and `PGlite#query` on PGlite. The
 * caller is the admin token (no database read to authenticate, no usage bookkeeping).
 */
let t: TestApp;
let api: Client;
const statements: string[] = [];
let counting = false;
const restore: Array<() => void> = [];

function spy<T extends object>(proto: T, method: keyof T & string): void {
  const original = proto[method] as (...args: unknown[]) => unknown;
  (proto as Record<string, unknown>)[method] = function (this: unknown, ...args: unknown[]) {
    if (counting) {
      const q = args[0] as string | { text?: string };
      statements.push(typeof q === 'string' ? q : (q?.text ?? String(q)));
    }
    return original.apply(this, args);
  };
  restore.push(() => ((proto as Record<string, unknown>)[method] = original));
}

beforeAll(async () => {
  spy(pg.Client.prototype, 'query');
  spy(PGlite.prototype, 'query');
  t = await startApp();
  api = client(t.url);
});
afterAll(async () => {
  await t?.close();
  restore.forEach((r) => r());
});

async function count(fn: () => Promise<unknown>): Promise<string[]> {
  statements.length = 0;
  counting = true;
  try {
    await fn();
  } finally {
    counting = false;
  }
  // The change listener's heartbeat (a NOTIFY it sends itself every second) is not the route's.
  return statements.filter((sql) => !/^SELECT pg_notify\(/.test(sql));
}

describe('list routes make one database statement', () => {
  it('GET /v1/projects/{id}/tokens: one statement, for a full, an empty and an unknown project', async () => {
    const project = await createProject(api);
    const empty = await createProject(api);
    for (let i = 0; i < 5; i++) await createProjectToken(api, project.id, ['read:token']);
    let res: { status: number; body: any } | undefined;
    let sql = await count(async () => (res = await api.get(`/v1/projects/${project.id}/tokens`)));
    expect(res!.status).toBe(200);
    expect(res!.body).toHaveLength(5);
    expect(sql, sql.join('\n---\n')).toHaveLength(1);

    sql = await count(async () => (res = await api.get(`/v1/projects/${empty.id}/tokens?last=2`)));
    expect(res!.status).toBe(200);
    expect(res!.body).toEqual([]);
    expect(sql).toHaveLength(1);

    sql = await count(async () => (res = await api.get('/v1/projects/00000000-0000-4000-8000-000000000000/tokens')));
    expect(res!.status).toBe(404);
    expect(sql).toHaveLength(1);
  });

  it('GET /v1/projects and the Publisher list: one statement each', async () => {
    let res: { status: number; body: any } | undefined;
    let sql = await count(async () => (res = await api.get('/v1/projects')));
    expect(res!.status).toBe(200);
    expect(sql, sql.join('\n---\n')).toHaveLength(1);
    await api.post('/api-token/create', { access: 'read' });
    sql = await count(async () => (res = await api.post('/api-token/list', {})));
    expect(res!.status).toBe(200);
    expect(res!.body.data.length).toBeGreaterThan(0);
    expect(sql, sql.join('\n---\n')).toHaveLength(1);
  });
});
