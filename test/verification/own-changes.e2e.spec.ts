import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeakedTokensService } from '../../src/leaks/leaked-tokens.service.js';
import { TokenCache } from '../../src/verification/token-cache.service.js';
import { TokenEventsService } from '../../src/verification/token-events.service.js';
import type { Res } from '../support/app.js';
import { useApp } from '../support/app.js';
import { unique } from '../support/projects.js';

/**
 * The instance that answered a change never serves from its cache what the change ended or narrowed,
 * for every route that changes what verification answers. Only the change listener drops cached
 * results: here its handling of every notification is held back (in order), so a route that answered
 * without waiting for its own listener would still find the old verdict in the cache, and fail.
 */
const dir = mkdtempSync(join(tmpdir(), 'keyward-own-changes-'));
const file = join(dir, 'tokens.json');
const ROOT = 'own-changes-root-secret-0123456789';
const CI = 'own-changes-ci-secret-0123456789';
/** How long the listener holds each notification back. */
const HOLD_MS = 150;
/** Rounds over every route (one on the embedded database, whose listener is in-process). */
const rounds = () => (t.db.mode === 'pglite' ? 1 : 2);

const t = useApp(() => {
  writeFileSync(
    file,
    JSON.stringify({
      tokens: {
        root: { token: ROOT, access: 'write' },
        ci: { token: CI, access: 'read', projects: ['own-alpha'] },
      },
    }),
    { mode: 0o600 },
  );
  return { KEYWARD_TOKENS_FILE: file, KEYWARD_AUTH_CACHE_TTL: '1h', KEYWARD_LAST_USED_FLUSH: '0' };
});
const api = t.api;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(() => {
  // Every notification (token and project changes, and this instance's own heartbeats) reaches the
  // cache HOLD_MS late, in the order received.
  const events = t.app.get(TokenEventsService) as unknown as Record<string, (...args: unknown[]) => void>;
  for (const name of ['tokenChanged', 'projectChanged', 'heard']) {
    const handle = events[name].bind(events);
    events[name] = (...args: unknown[]) => void setTimeout(() => handle(...args), HOLD_MS);
  }
});

const cached = (token: string) => {
  const cache = t.app.get(TokenCache);
  return cache.get(cache.keyOf(token)) !== undefined;
};
const expectOk = (res: Res, what: string) => expect(res.status, `${what}: ${res.text}`).toBeLessThan(300);

/** A route that changes what verification answers, and how a use of the token reads right after it. */
interface ChangeCase {
  name: string;
  /** Issues a token and returns it, with the change and the use to try after it. */
  prepare(): Promise<{ token: string; use(): Promise<Res>; change(): Promise<Res>; after: number }>;
}

/** A protected route any read token may call (200 means the token authenticated). */
const list = (token: string) => () => api.post('/api-token/list', {}, { token });
const globalToken = async (body: Record<string, unknown> = {}, token?: string) => {
  const res = await api.post('/api-token/create', { access: 'read', ...body }, { token });
  expectOk(res, 'create');
  return res.body as { id: string; token: string };
};
const project = async (name = unique('own')) => {
  const res = await api.post('/v1/projects', { name });
  expectOk(res, 'create project');
  return res.body as { id: string; name: string };
};
const projectToken = async (projectId: string, permissions = ['read:token', 'read:project']) => {
  const res = await api.post(`/v1/projects/${projectId}/tokens`, { name: unique('t'), permissions });
  expectOk(res, 'create project token');
  return res.body as { id: string; token: string };
};

type Made = { id: string; token: string };

/** A change to a fresh global token (created with `body()`), used through the Publisher list. */
const onGlobalToken = (
  name: string,
  change: (made: Made, body: Record<string, unknown>) => Promise<Res>,
  body: () => Record<string, unknown> = () => ({}),
): ChangeCase => ({
  name,
  async prepare() {
    const fields = body();
    const made = await globalToken(fields);
    return { token: made.token, use: list(made.token), change: () => change(made, fields), after: 401 };
  },
});

/** A change to a fresh project token, used to read its project; `after`: the use's status after it. */
const onProjectToken = (
  name: string,
  change: (made: Made, projectId: string) => Promise<Res>,
  after = 401,
): ChangeCase => ({
  name,
  async prepare() {
    const p = await project();
    const made = await projectToken(p.id);
    const use = () => api.get(`/v1/projects/${p.id}`, { token: made.token });
    return { token: made.token, use, change: () => change(made, p.id), after };
  },
});

/** A fresh owner for each token of the owner cases. */
const ownedToken = () => ({ owner: unique('owner') });

const CASES: ChangeCase[] = [
  onGlobalToken('POST /api-token/revoke', (made) => api.post('/api-token/revoke', { id: made.id })),
  {
    name: 'POST /api-token/revoke of the parent (its tree)',
    async prepare() {
      const parent = await globalToken({ access: 'write' });
      const child = await globalToken({}, parent.token);
      return {
        token: child.token,
        use: list(child.token),
        change: () => api.post('/api-token/revoke', { id: parent.id }),
        after: 401,
      };
    },
  },
  onGlobalToken('POST /api-token/disable', (made) => api.post('/api-token/disable', { id: made.id })),
  onGlobalToken('POST /api-token/rotate', (made) => api.post('/api-token/rotate', { id: made.id })),
  onGlobalToken('POST /v1/tokens/{id}/rotate', (made) => api.post(`/v1/tokens/${made.id}/rotate`, {})),
  onGlobalToken(
    'POST /v1/tokens/revoke-by-owner',
    (_made, { owner }) => api.post('/v1/tokens/revoke-by-owner', { owner }),
    ownedToken,
  ),
  onGlobalToken(
    'POST /v1/tokens/disable-by-owner',
    (_made, { owner }) => api.post('/v1/tokens/disable-by-owner', { owner }),
    ownedToken,
  ),
  onProjectToken('DELETE /v1/project_tokens/{id}', (made) => api.delete(`/v1/project_tokens/${made.id}`)),
  onProjectToken('DELETE /v1/projects/{projectID}/tokens/{id}', (made, projectId) =>
    api.delete(`/v1/projects/${projectId}/tokens/${made.id}`),
  ),
  onProjectToken('PATCH /v1/project_tokens/{id} (disable)', (made) =>
    api.patch(`/v1/project_tokens/${made.id}`, { enabled: false }),
  ),
  onProjectToken(
    'PATCH /v1/projects/{projectID}/tokens/{id} (narrowed permissions)',
    (made, projectId) => api.patch(`/v1/projects/${projectId}/tokens/${made.id}`, { permissions: ['read:token'] }),
    403,
  ),
  onProjectToken('DELETE /v1/projects/{projectID}', (_made, projectId) => api.delete(`/v1/projects/${projectId}`)),
  {
    name: 'PATCH /v1/projects/{projectID} (rename: a tokens-file entry confined by name loses it)',
    async prepare() {
      const p = await project('own-alpha');
      const use = () => api.get(`/v1/projects/${p.id}`, { token: CI });
      return {
        token: CI,
        use,
        change: () => api.patch(`/v1/projects/${p.id}`, { name: unique('own-renamed') }),
        after: 404,
      };
    },
  },
  {
    name: 'DELETE /v1/tokens-file/entries/{name}/tokens',
    async prepare() {
      const made = await globalToken({}, ROOT);
      return {
        token: made.token,
        use: list(made.token),
        change: () => api.delete('/v1/tokens-file/entries/root/tokens'),
        after: 401,
      };
    },
  },
  onGlobalToken('POST /v1/tokens/revoke-leaked (processed in the background: settled)', async (made) => {
    const res = await api.post('/v1/tokens/revoke-leaked', { tokens: [made.token] });
    await t.app.get(LeakedTokensService).settled();
    return res;
  }),
];

describe('a change is applied to the answering instance before its answer', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      for (let round = 0; round < rounds(); round++) {
        const { token, use, change, after } = await c.prepare();
        expectOk(await use(), `${c.name}: use before the change`);
        expect(cached(token), `${c.name}: cached before the change`).toBe(true);
        expectOk(await change(), c.name);
        expect((await use()).status, `${c.name}: use right after the answer`).toBe(after);
      }
    });
  }
});
