import argon2 from 'argon2';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { StaticCredentials } from '../../src/verification/static-credentials.js';
import { TokensFileError } from '../../src/verification/tokens-file/tokens-file.parser.js';
import { TokensFileService } from '../../src/verification/tokens-file/tokens-file.service.js';
import { client, envelopeOf, startApp, useApp } from '../support/app.js';

const dir = mkdtempSync(join(tmpdir(), 'keyward-tokens-file-'));
const file = join(dir, 'tokens.json');
const write = (doc: unknown, path = file) =>
  writeFileSync(path, typeof doc === 'string' ? doc : JSON.stringify(doc, null, 2), { mode: 0o600 });

const ADMIN = 'named-tokens-admin-Secret-Token';
const CI = 'ABC123XYZ789';
let tokensFile: TokensFileService;

/** A protected route (list needs read access); 200 means the token authenticated. */
const list = (token: string, header = 'authorization') => api.post('/api-token/list', {}, { token, header });

const t = useApp(() => {
  write({
    tokens: {
      admin: { token: ADMIN, allow_overwrite: true, allow_delete: true },
      'ci-pipeline': { token: CI, projects: ['my-project', 'other-project'] },
    },
  });
  return { KEYWARD_TOKENS_FILE: file, KEYWARD_ADMIN_TOKEN: '' };
});
const api = t.api;
beforeAll(() => {
  tokensFile = t.app.get(TokensFileService);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('named-tokens file: {"tokens": ...} with X-Token', () => {
  beforeAll(async () => {
    write({
      tokens: {
        admin: { token: ADMIN, allow_overwrite: true, allow_delete: true },
        'ci-pipeline': { token: CI, projects: ['my-project', 'other-project'] },
        reader: { token: 'read-only-token-1234', access: 'read' },
      },
    });
    await tokensFile.reload();
  });

  it('authenticates every entry, with X-Token, Bearer or X-API-Key', async () => {
    for (const header of ['x-token', 'authorization', 'x-api-key']) {
      expect((await list(ADMIN, header)).status, header).toBe(200);
      expect((await list(CI, header)).status, header).toBe(200);
    }
  });

  it('is case-sensitive', async () => {
    for (const wrong of [ADMIN.toLowerCase(), ADMIN.toUpperCase(), CI.toLowerCase(), `${ADMIN}x`, ADMIN.slice(1)]) {
      const res = await list(wrong, 'x-token');
      expect(res.status, wrong).toBe(401);
      expect(envelopeOf(res).code).toBe('authentication_error');
    }
  });

  it('gives file tokens write access unless an entry says access: read', async () => {
    const created = await api.post('/api-token/create', { access: 'read' }, { token: ADMIN, header: 'x-token' });
    expect(created.status, created.text).toBe(200);
    expect((await list(created.body.token)).status).toBe(200);
    expect((await list('read-only-token-1234', 'x-token')).status).toBe(200);
    const denied = await api.post(
      '/api-token/create',
      { access: 'read' },
      { token: 'read-only-token-1234', header: 'x-token' },
    );
    expect(denied.status).toBe(403);
  });

  it('keeps the entry name, flags and project names on the principal (for verification)', async () => {
    const hits = await Promise.all([ADMIN, CI].map((s) => t.app.get(StaticCredentials).match(s)));
    expect(hits[0]!.principal).toMatchObject({
      source: 'file',
      id: 'file:admin',
      name: 'admin',
      kind: 'global',
      access: 'write',
      projects: null,
      flags: { allow_overwrite: true, allow_delete: true, existing_projects_only: false },
    });
    // Confinement by name is kept as written and resolved to project ids on use; until then, nothing.
    expect(hits[1]!.projectRefs).toEqual(['my-project', 'other-project']);
    expect(hits[1]!.principal).toMatchObject({
      id: 'file:ci-pipeline',
      projects: [],
      flags: { allow_overwrite: false, allow_delete: false, existing_projects_only: false },
    });
    // Only HMACs are kept in memory, never the secret.
    expect(JSON.stringify(t.app.get(StaticCredentials).entries())).not.toContain(ADMIN);
  });
});

describe('project names in tokens files', () => {
  it('confine a file token to the projects it names, on project routes and in verification', async () => {
    const mine = await api.post('/v1/projects', { name: 'my-project' }, { token: ADMIN, header: 'x-token' });
    const elsewhere = await api.post('/v1/projects', { name: 'elsewhere' }, { token: ADMIN, header: 'x-token' });
    expect(mine.status, mine.text).toBe(201);
    const tokensOf = (id: string) => api.get(`/v1/projects/${id}/tokens`, { token: CI, header: 'x-token' });
    expect((await tokensOf(mine.body.id)).status).toBe(200);
    expect((await tokensOf(elsewhere.body.id)).status).toBe(404);

    const verify = (project: string) =>
      api.post('/v1/tokens/verify', { token: CI, project }, { token: ADMIN, header: 'x-token' });
    for (const ref of ['my-project', mine.body.id]) {
      expect((await verify(ref)).body).toMatchObject({
        valid: true,
        code: 'VALID',
        token: {
          id: 'file:ci-pipeline',
          name: 'ci-pipeline',
          flags: { allow_overwrite: false, allow_delete: false, existing_projects_only: false },
        },
      });
    }
    expect((await verify('elsewhere')).body).toMatchObject({ valid: false, code: 'FORBIDDEN' });
    // A listed name is allowed whether or not a project bears it (upload semantics); once a project is
    // created under it, the entry reaches that project by id too.
    expect((await verify('other-project')).body).toMatchObject({ valid: true, code: 'VALID' });
    expect((await tokensOf(elsewhere.body.id)).status).toBe(404);
    const other = await api.post('/v1/projects', { name: 'other-project' }, { token: ADMIN, header: 'x-token' });
    expect(other.status, other.text).toBe(201);
    expect((await verify('other-project')).body).toMatchObject({ valid: true, code: 'VALID' });
    expect((await verify(other.body.id.toUpperCase())).body).toMatchObject({ valid: true, code: 'VALID' });
    expect((await verify('other-project')).body.token.projects.sort()).toEqual([mine.body.id, other.body.id].sort());
  });
});

describe('API-keys file: api_keys with X-API-Key', () => {
  const keys = [
    { key: 'hcpms_live_a4b9c2d1e4f5', name: 'Production', enabled: true },
    { key: 'hcpms_live_e7c1f3a8b9c2', name: 'Staging', enabled: true },
    { key: 'hcpms_live_old__', name: 'Old (rotate)', enabled: false },
  ];

  it('reads headless_cpms.api_keys in a larger config.json; enabled: false keys are rejected', async () => {
    write({ headless_cpms: { host: '0.0.0.0', port: 8080, api_keys: keys } });
    expect(await tokensFile.reload()).toEqual({ entries: 3, disabled: 1 });
    expect((await list('hcpms_live_a4b9c2d1e4f5', 'x-api-key')).status).toBe(200);
    expect((await list('hcpms_live_e7c1f3a8b9c2', 'x-api-key')).status).toBe(200);
    const old = await list('hcpms_live_old__', 'x-api-key');
    expect(old.status).toBe(401);
    expect(envelopeOf(old)).toMatchObject({ code: 'authentication_error', message: 'Invalid or missing API token' });
    // The previous file's tokens are gone.
    expect((await list(ADMIN, 'x-token')).status).toBe(401);
  });

  it('reads a top-level api_keys list too', async () => {
    write({ api_keys: keys });
    await tokensFile.reload();
    expect((await list('hcpms_live_a4b9c2d1e4f5', 'x-api-key')).status).toBe(200);
    expect((await list('hcpms_live_old__', 'x-api-key')).status).toBe(401);
  });
});

describe('master-token file: {"authorization": {"enabled", "token"}} with Bearer', () => {
  const MASTER = 'lightd_ad2f7fc49ed640429c450e14ed07c8d5';

  it('authenticates the master token; enabled: false turns it off', async () => {
    write({ authorization: { enabled: true, token: MASTER }, port: 8070 });
    await tokensFile.reload();
    expect((await list(MASTER)).status).toBe(200);
    expect((await list(MASTER.toUpperCase())).status).toBe(401);
    write({ authorization: { enabled: false, token: MASTER } });
    await tokensFile.reload();
    expect((await list(MASTER)).status).toBe(401);
  });

  it('accepts a master token kept only as its argon2 hash', async () => {
    const hash = await argon2.hash(MASTER, { type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 });
    write({ authorization: { enabled: true, token_hash: hash, token_stub: 'lightd_ad2f7f…' } });
    expect(await tokensFile.reload()).toEqual({ entries: 1, disabled: 0 });
    expect((await list(MASTER)).status).toBe(200);
    expect((await list(MASTER.slice(0, -1))).status).toBe(401);
  });
});

describe('a bad file on reload', () => {
  it('is reported and changes nothing: the previous tokens keep working', async () => {
    write({ tokens: { admin: { token: ADMIN } } });
    await tokensFile.reload();
    for (const bad of ['{"tokens": {', JSON.stringify({ tokens: { admin: { token: ADMIN, projects: 'x' } } })]) {
      write(bad);
      await expect(tokensFile.reload()).rejects.toThrow(TokensFileError);
      expect((await list(ADMIN, 'x-token')).status).toBe(200);
    }
    rmSync(file);
    await expect(tokensFile.reload()).rejects.toThrow(`tokens file ${file}: does not exist`);
    // The same through SIGHUP: logged, not fatal.
    process.kill(process.pid, 'SIGHUP');
    await new Promise((r) => setImmediate(r)); // the signal handler runs
    // Reloads run one after another: once this one is done, the SIGHUP one is too.
    await expect(tokensFile.reload()).rejects.toThrow(TokensFileError);
    expect((await list(ADMIN, 'x-token')).status).toBe(200);
  });
});

describe('API-keys four-step rotation over SIGHUP', () => {
  const OLD = 'hcpms_live_0ld0ld0ld0ld0ld0ld0ld0ld0ld0';
  const NEW = 'hcpms_live_n3wn3wn3wn3wn3wn3wn3wn3wn3wn3w';
  const hammer = async (key: string, until: () => Promise<boolean>) => {
    // Requests keep flowing while the reload happens; none may fail.
    const statuses: number[] = [];
    let done = false;
    const load = (async () => {
      while (!done) {
        const batch = await Promise.all(Array.from({ length: 10 }, () => list(key, 'x-api-key')));
        statuses.push(...batch.map((r) => r.status));
      }
    })();
    process.kill(process.pid, 'SIGHUP');
    await vi.waitFor(async () => expect(await until()).toBe(true), { timeout: 10_000, interval: 20 });
    done = true;
    await load;
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
  };

  it('keeps both keys valid in between and drops no request', async () => {
    // Before: only the old key.
    write({ headless_cpms: { api_keys: [{ key: OLD, name: 'Production', enabled: true }] } });
    await tokensFile.reload();
    expect((await list(OLD, 'x-api-key')).status).toBe(200);
    expect((await list(NEW, 'x-api-key')).status).toBe(401);

    // 1. Add the new key, enabled.  2. Reload (SIGHUP): both work.
    write({
      headless_cpms: {
        api_keys: [
          { key: OLD, name: 'Production', enabled: true },
          { key: NEW, name: 'Production 2026', enabled: true },
        ],
      },
    });
    await hammer(OLD, async () => (await list(NEW, 'x-api-key')).status === 200);
    expect((await list(OLD, 'x-api-key')).status).toBe(200);
    expect((await list(NEW, 'x-api-key')).status).toBe(200);

    // 3. (consumers move to the new key)  4. Disable the old key, reload once more.
    write({
      headless_cpms: {
        api_keys: [
          { key: OLD, name: 'Production', enabled: false },
          { key: NEW, name: 'Production 2026', enabled: true },
        ],
      },
    });
    await hammer(NEW, async () => (await list(OLD, 'x-api-key')).status === 401);
    expect((await list(OLD, 'x-api-key')).status).toBe(401);
    expect((await list(NEW, 'x-api-key')).status).toBe(200);
  });
});

describe('without a tokens file or an admin token', () => {
  it('answers 401 on every protected route, and public routes still answer', async () => {
    const bare = await startApp({ KEYWARD_ADMIN_TOKEN: '' });
    try {
      const c = client(bare.url);
      for (const path of [
        '/api-token/list',
        '/api-token/create',
        '/api-token/revoke',
        '/publisher.v1/api-token/list',
      ]) {
        for (const token of [null, ADMIN, 'anything-at-all-here']) {
          const res = await c.post(path, {}, { token, header: 'x-token' });
          expect(res.status, `${path} ${token}`).toBe(401);
          expect(envelopeOf(res).code).toBe('authentication_error');
        }
      }
      expect((await c.get('/api/v1/public/ping', { token: null })).status).toBe(200);
    } finally {
      await bare.close();
    }
  });
});
