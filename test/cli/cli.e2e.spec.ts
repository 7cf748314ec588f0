import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokensFileService } from '../../src/verification/tokens-file/tokens-file.service.js';
import { client, startApp } from '../support/app.js';
import { type CliResult, keyward } from '../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

const ok = (r: CliResult) => {
  expect(r.stderr.includes('unexpected error'), r.stderr).toBe(false);
  expect(r.code, r.stderr).toBe(0);
  return r;
};
const json = (r: CliResult) => JSON.parse(ok(r).stdout);
const dir = mkdtempSync(join(tmpdir(), 'keyward-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('token create|list|revoke|rotate against the configured database', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => db?.drop());

  /** Starts the service on the same database for a moment (on PGlite the CLI cannot run meanwhile). */
  async function withService<T>(fn: (api: ReturnType<typeof client>) => Promise<T>): Promise<T> {
    const t = await startApp({ KEYWARD_ADMIN_TOKEN: '' }, db);
    try {
      return await fn(client(t.url));
    } finally {
      await t.close();
    }
  }
  const status = (api: ReturnType<typeof client>, token: string) =>
    api.post('/api-token/list', {}, { token }).then((r) => r.status);

  let writeToken: string;
  let writeId: string;
  let reader: { id: string; token: string };

  it('creates tokens that the service accepts, and lists them without their secrets', async () => {
    const human = ok(
      await keyward(['token', 'create', '--access', 'write', '--description', 'CI deploy', '--ttl', '1h'], db.env),
    );
    expect(human.stdout).toMatch(/✓ Token created/);
    expect(human.stdout).toMatch(/Access: +write/);
    expect(human.stdout).toMatch(/Description: +CI deploy/);
    writeToken = /Token: +(kw_[0-9A-Za-z]{65})/.exec(human.stdout)![1];
    writeId = /ID: +([0-9a-f-]{36})/.exec(human.stdout)![1];

    reader = json(
      await keyward(['token', 'create', '--access', 'read', '--expires-at', '2035-01-01T00:00:00Z', '--json'], db.env),
    );
    expect(reader).toMatchObject({ access: 'read', expires_at: '2035-01-01T00:00:00Z', description: null });
    expect(reader.token).toMatch(/^kw_[0-9A-Za-z]{65}$/);

    const listed = json(await keyward(['token', 'list', '--json'], db.env));
    expect(listed.map((r: { id: string }) => r.id).sort()).toEqual([writeId, reader.id].sort());
    expect(JSON.stringify(listed)).not.toContain(writeToken);
    const table = ok(await keyward(['token', 'list'], db.env)).stdout;
    expect(table).toMatch(/^ID +ACCESS +STATUS +STUB +CREATED +EXPIRES +LAST USED +DESCRIPTION\n/);
    expect(table).toContain(writeId);
    expect(table).not.toContain(writeToken);

    await withService(async (api) => {
      expect(await status(api, writeToken)).toBe(200);
      expect(await status(api, reader.token)).toBe(200);
      // The CLI-made write token can do what a write token does over HTTP.
      expect((await api.post('/api-token/create', { access: 'read' }, { token: writeToken })).status).toBe(200);
      expect((await api.post('/api-token/create', { access: 'read' }, { token: reader.token })).status).toBe(403);
    });
  });

  it('rotates (with or without a grace) and revokes them', async () => {
    // Rotation with a grace: same id, new secret, both valid until the grace ends.
    const rotated = json(await keyward(['token', 'rotate', writeId, '--grace', '10m', '--json'], db.env));
    expect(rotated.id).toBe(writeId);
    expect(rotated.token).not.toBe(writeToken);
    expect(rotated.token.slice(0, 19)).toBe(writeToken.slice(0, 19)); // prefix + lookup id: the same stub
    expect(Date.parse(rotated.previous_expires_at)).toBeGreaterThan(Date.now() + 9 * 60_000);
    // Rotation without a grace: the previous secret stops at once.
    const hard = ok(await keyward(['token', 'rotate', reader.id], db.env)).stdout;
    expect(hard).toMatch(/✓ Token rotated/);
    expect(hard).toMatch(/previous token no longer works/);
    const readerNew = /New Token: +(kw_[0-9A-Za-z]{65})/.exec(hard)![1];

    const revoked = ok(await keyward(['token', 'revoke', reader.id], db.env)).stdout;
    expect(revoked).toMatch(new RegExp(`✓ Token ${reader.id} revoked`));

    await withService(async (api) => {
      expect(await status(api, rotated.token)).toBe(200);
      expect(await status(api, writeToken)).toBe(200); // within the grace
      expect(await status(api, reader.token)).toBe(401);
      expect(await status(api, readerNew)).toBe(401); // revoked
    });

    const after = json(await keyward(['token', 'list', '--json'], db.env));
    expect(after.find((r: { id: string }) => r.id === reader.id).status).toBe('revoked');
  });

  it('verifies a token from standard input with the service’s verifier', async () => {
    const made = json(await keyward(['token', 'create', '--access', 'read', '--json'], db.env));
    const valid = await keyward(['token', 'verify', '--json'], db.env, `${made.token}\n`);
    expect(valid.code, valid.stderr).toBe(0);
    expect(JSON.parse(valid.stdout)).toMatchObject({
      valid: true,
      code: 'VALID',
      token: { id: made.id, permissions: ['read:*'], projects: null },
    });
    const forbidden = await keyward(['token', 'verify', '--permission', 'create:token'], db.env, made.token);
    expect(forbidden.code).toBe(2);
    expect(forbidden.stdout).toMatch(/✗ FORBIDDEN/);
    const unknown = await keyward(['token', 'verify'], db.env, `kw_${'x'.repeat(65)}`);
    expect(unknown.code).toBe(2);
    expect(unknown.stdout).toMatch(/✗ NOT_FOUND/);
    const empty = await keyward(['token', 'verify'], db.env, '');
    expect(empty.code).toBe(1);
    expect(empty.stderr).toMatch(/standard input/);
  });

  it('explains bad input and exits 1', async () => {
    const cases: [string[], RegExp][] = [
      [['token', 'create'], /required option '--access <level>'/],
      [['token', 'create', '--access', 'admin'], /Allowed choices are read, write/],
      [
        ['token', 'create', '--access', 'read', '--expires-at', 'tomorrow'],
        /keyward: --expires-at must be an RFC 3339 date-time/,
      ],
      [
        ['token', 'create', '--access', 'read', '--expires-at', '2020-01-01T00:00:00Z'],
        /keyward: --expires-at must be in the future/,
      ],
      [['token', 'create', '--access', 'read', '--ttl', 'soon'], /keyward: --ttl: not a duration/],
      [['token', 'create', '--access', 'read', '--ttl', '1h', '--expires-at', '2099-01-01T00:00:00Z'], /not both/],
      [['token', 'revoke', 'abc'], /keyward: not a token id: "abc"/],
      [['token', 'revoke', '00000000-0000-4000-8000-000000000000'], /keyward: Token not found/],
      [['token', 'rotate', '00000000-0000-4000-8000-000000000000'], /keyward: Token not found/],
      [['token', 'rotate', '00000000-0000-4000-8000-000000000000', '--grace', 'x'], /keyward: --grace: not a duration/],
      [['token', 'frobnicate'], /unknown command 'frobnicate'/],
    ];
    for (const [args, message] of cases) {
      const r = await keyward(args, db.env);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
    // Rotating a revoked token is refused.
    const t = json(await keyward(['token', 'create', '--access', 'read', '--json'], db.env));
    ok(await keyward(['token', 'revoke', t.id], db.env));
    const r = await keyward(['token', 'rotate', t.id], db.env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/keyward: Token is revoked: it cannot be rotated/);
  });

  it('says so when the database cannot be reached', async () => {
    const r = await keyward(['token', 'list'], { DATABASE_URL: 'postgresql://nobody@127.0.0.1:1/none' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^keyward: cannot open the database: /);
  });
});

describe('projects, project tokens and the audit trail', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => db?.drop());

  it(
    'creates and lists projects and project tokens (with LAST USED), revokes them, and audits it all as cli',
    { timeout: 300_000 },
    async () => {
      const project = json(await keyward(['project', 'create', 'cli-project', '--json'], db.env));
      expect(project).toMatchObject({ name: 'cli-project' });
      expect(json(await keyward(['project', 'list', '--json'], db.env))).toEqual([project]);
      expect(ok(await keyward(['project', 'list'], db.env)).stdout).toMatch(/^ID +NAME +CREATED\n.*cli-project/);

      // By name or by id; permissions repeatable or space-separated.
      const made = json(
        await keyward(
          [
            'project',
            'token',
            'create',
            'cli-project',
            '--name',
            'ci',
            '--permission',
            'read:*',
            'create:token',
            '--json',
          ],
          db.env,
        ),
      );
      expect(made).toMatchObject({ name: 'ci', permissions: ['read:*', 'create:token'] });
      expect(made.token).toMatch(/^kw_[0-9A-Za-z]{65}$/);
      const human = ok(
        await keyward(
          ['project', 'token', 'create', project.id, '--name', 'deploy', '--permission', 'read:token'],
          db.env,
        ),
      ).stdout;
      expect(human).toMatch(/✓ Project token created/);
      const deployId = /ID: +([0-9a-f-]{36})/.exec(human)![1];

      // Use one token through the service: its LAST USED appears (written at the latest at shutdown).
      const t = await startApp({ KEYWARD_ADMIN_TOKEN: '' }, db);
      try {
        const res = await client(t.url).get(`/v1/projects/${project.id}/tokens`, { token: made.token });
        expect(res.status).toBe(200);
      } finally {
        await t.close();
      }
      const listed = json(await keyward(['project', 'token', 'list', 'cli-project', '--json'], db.env));
      expect(listed.map((r: { name: string }) => r.name).sort()).toEqual(['ci', 'deploy']);
      expect(JSON.stringify(listed)).not.toContain(made.token);
      const ci = listed.find((r: { name: string }) => r.name === 'ci');
      expect(Date.parse(ci.last_used_at)).toBeGreaterThan(Date.now() - 120_000);
      expect(listed.find((r: { name: string }) => r.name === 'deploy').last_used_at).toBeNull();
      const table = ok(await keyward(['project', 'token', 'list', 'cli-project'], db.env)).stdout;
      expect(table).toMatch(/^ID +NAME +PERMISSIONS +STUB +STATUS +CREATED +LAST USED\n/);
      expect(table).toMatch(/deploy .* never\n/);
      expect(ok(await keyward(['token', 'list'], db.env)).stdout).toMatch(/No tokens\./);

      expect(ok(await keyward(['project', 'token', 'revoke', deployId], db.env)).stdout).toMatch(/revoked/);
      expect(
        json(await keyward(['project', 'token', 'list', 'cli-project', '--json'], db.env)).map(
          (r: { id: string }) => r.id,
        ),
      ).toEqual([made.id]);

      // Every one of those actions is in the audit trail, by `cli`.
      const events = json(await keyward(['audit', '--json'], db.env));
      const summary = events.map((e: { action: string; actor: string; targetId: string }) => [
        e.action,
        e.actor,
        e.targetId,
      ]);
      expect(summary).toEqual([
        ['token.delete', 'cli', deployId],
        ['token.create', 'cli', deployId],
        ['token.create', 'cli', made.id],
        ['project.create', 'cli', project.id],
      ]);
      expect(events[0].userAgent).toMatch(/^keyward-cli \(.+@.+\)$/);
      expect(
        json(await keyward(['audit', '--action', 'token.create', '--token-id', made.id, '--json'], db.env)),
      ).toHaveLength(1);
      expect(json(await keyward(['audit', '--since', '1h', '--limit', '2', '--json'], db.env))).toHaveLength(2);
      expect(json(await keyward(['audit', '--since', '2999-01-01T00:00:00Z', '--json'], db.env))).toEqual([]);
      const auditTable = ok(await keyward(['audit'], db.env)).stdout;
      expect(auditTable).toMatch(/^TIME +ACTION +ACTOR +TARGET +OUTCOME +COUNT +FROM +TRACE\n/);
      expect(auditTable).toContain(`project.create  cli    project:${project.id}`);

      expect(ok(await keyward(['project', 'delete', 'cli-project'], db.env)).stdout).toMatch(
        /✓ Project cli-project deleted/,
      );
      expect(json(await keyward(['project', 'list', '--json'], db.env))).toEqual([]);
      const deletion = json(await keyward(['audit', '--action', 'project.delete', '--json'], db.env));
      expect(deletion).toMatchObject([{ actor: 'cli', targetId: project.id }]);
    },
  );

  it('explains bad input and exits 1', { timeout: 300_000 }, async () => {
    const cases: [string[], RegExp][] = [
      [
        ['project', 'token', 'create', 'nope', '--name', 'x', '--permission', 'read:*'],
        /keyward: no such project: "nope"/,
      ],
      [
        ['project', 'token', 'create', 'cli-project', '--name', 'x', '--permission', 'admin'],
        /argument 'admin' is invalid/,
      ],
      [['project', 'token', 'create', 'cli-project', '--permission', 'read:*'], /required option '--name <name>'/],
      [['project', 'token', 'list', 'nope'], /keyward: no such project: "nope"/],
      [['project', 'token', 'revoke', 'abc'], /keyward: not a token id: "abc"/],
      [['project', 'delete', 'nope'], /keyward: no such project: "nope"/],
      [['audit', '--since', 'yesterday'], /keyward: --since: "yesterday" is neither/],
      [['audit', '--action', 'token.explode'], /Allowed choices are token.create/],
      [['audit', '--limit', '0'], /keyward: --limit must be a whole number/],
    ];
    for (const [args, message] of cases) {
      const r = await keyward(args, db.env);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
  });
});

describe('master-token commands token what|reset|set on a tokens file', () => {
  const MASTER = 'lightd_ad2f7fc49ed640429c450e14ed07c8d5';
  const masterTokenEnv = { DATABASE_URL: '', KEYWARD_TOKEN_PREFIX: 'lightd_' };

  it('what shows the current token; reset replaces it, keeps the rest of the file, and prints it once', async () => {
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ port: 8070, authorization: { enabled: true, token: MASTER } }));
    expect(ok(await keyward(['token', 'what', '--file', file], masterTokenEnv)).stdout).toBe(
      `Current Token: ${MASTER}\n`,
    );

    const reset = ok(await keyward(['token', 'reset'], { ...masterTokenEnv, KEYWARD_TOKENS_FILE: file }));
    const lines = reset.stdout.split('\n');
    expect(lines[0]).toBe('✓ Token reset successfully!');
    expect(lines[1]).toMatch(/^New Token: lightd_[0-9a-f]{64}$/);
    expect(lines.slice(2, 5)).toEqual([
      '',
      '⚠️  Warning: The old token is now invalid.',
      '   Update your applications with the new token.',
    ]);
    expect(reset.stderr).toMatch(/SIGHUP/);
    const token = lines[1].slice('New Token: '.length);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ port: 8070, authorization: { enabled: true, token } });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(ok(await keyward(['token', 'what', '--file', file], masterTokenEnv)).stdout).toBe(
      `Current Token: ${token}\n`,
    );
  });

  it('reset on a file without a master token creates one and does not speak of an old token', async () => {
    const file = join(dir, 'fresh.json');
    const reset = ok(await keyward(['token', 'reset', '--file', file], masterTokenEnv));
    const lines = reset.stdout.split('\n');
    expect(lines[0]).toBe('✓ Token created');
    expect(lines[1]).toMatch(/^New Token: lightd_[0-9a-f]{64}$/);
    expect(reset.stdout).not.toMatch(/old token/i);
  });

  it('reset --hash-only keeps only the hash: the service accepts the token, what shows the stub', async () => {
    const file = join(dir, 'hashed.json');
    writeFileSync(
      file,
      JSON.stringify({ authorization: { enabled: true, token: 'kw_first_master_token_0123456789' } }),
    );
    const t = await startApp({ KEYWARD_TOKENS_FILE: file, KEYWARD_ADMIN_TOKEN: '' });
    try {
      const api = client(t.url);
      expect((await api.post('/api-token/list', {}, { token: 'kw_first_master_token_0123456789' })).status).toBe(200);

      const reset = ok(await keyward(['token', 'reset', '--hash-only', '--file', file]));
      const token = /New Token: (kw_[0-9a-f]{64})/.exec(reset.stdout)![1];
      const stored = readFileSync(file, 'utf8');
      expect(stored).not.toContain(token);
      const doc = JSON.parse(stored);
      expect(doc.authorization.token).toBeUndefined();
      expect(doc.authorization.token_hash).toMatch(/^\$argon2id\$/);
      expect(doc.authorization.token_stub).toBe(`${token.slice(0, 9)}…`);

      const what = ok(await keyward(['token', 'what', '--file', file])).stdout;
      expect(what).toContain(`Current Token: ${token.slice(0, 9)}…`);
      expect(what).toContain('stored as an argon2 hash');
      expect(what).not.toContain(token);

      // What SIGHUP does in the running service:
      await t.app.get(TokensFileService).reload();
      expect((await api.post('/api-token/list', {}, { token })).status).toBe(200);
      expect((await api.post('/api-token/list', {}, { token: 'kw_first_master_token_0123456789' })).status).toBe(401);
    } finally {
      await t.close();
    }
  });

  it('set reads the token from the prompt (or a pipe) and checks its prefix and length', async () => {
    const file = join(dir, 'set.json');
    const custom = 'lightd_my_custom_secure_token_here';
    const set = ok(await keyward(['token', 'set', '--file', file], masterTokenEnv, `${custom}\n`));
    expect(set.stdout).toContain("Enter new token (must start with 'lightd_' and be at least 20 characters):\n> ");
    expect(set.stdout).toContain(`✓ Token set successfully!\nNew Token: ${custom}\n`);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ authorization: { enabled: true, token: custom } });

    for (const [input, message] of [
      ['kw_wrong_prefix_token_0123', "keyward: the token must start with 'lightd_'"],
      ['lightd_short', 'keyward: the token must be at least 20 characters long'],
      ['lightd_has some spaces in it', 'keyward: the token must not contain whitespace'],
      ['', 'keyward: no token given'],
    ]) {
      const r = await keyward(['token', 'set', '--file', file], masterTokenEnv, `${input}\n`);
      expect(r.code, input).toBe(1);
      expect(r.stderr.trim()).toBe(message);
    }
    expect(JSON.parse(readFileSync(file, 'utf8')).authorization.token).toBe(custom);
  });

  it('what, reset and set answer JSON with --json (prompt on stderr)', { timeout: 180_000 }, async () => {
    const file = join(dir, 'json.json');
    const custom = 'lightd_json_custom_token_0123456789';
    const set = ok(await keyward(['token', 'set', '--file', file, '--json'], masterTokenEnv, `${custom}\n`));
    expect(JSON.parse(set.stdout)).toEqual({ file, token: custom, hash_only: false });
    expect(set.stderr).toContain('Enter new token');
    expect(json(await keyward(['token', 'what', '--file', file, '--json'], masterTokenEnv))).toEqual({
      file,
      token: custom,
      token_stub: null,
      hashed: false,
      enabled: true,
    });
    const reset = json(await keyward(['token', 'reset', '--file', file, '--hash-only', '--json'], masterTokenEnv));
    expect(reset.token).toMatch(/^lightd_[0-9a-f]{64}$/);
    expect(json(await keyward(['token', 'what', '--file', file, '--json'], masterTokenEnv))).toMatchObject({
      token: null,
      token_stub: `${reset.token.slice(0, 13)}…`,
      hashed: true,
    });
  });

  it('explains a missing or broken file', async () => {
    const missing = await keyward(['token', 'what', '--file', join(dir, 'none.json')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/keyward: tokens file .*none\.json: does not exist/);
    const none = await keyward(['token', 'what']);
    expect(none.stderr).toMatch(/keyward: no tokens file: pass --file FILE or set KEYWARD_TOKENS_FILE/);
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{"authorization": ');
    for (const cmd of ['what', 'reset']) {
      const r = await keyward(['token', cmd, '--file', broken]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/keyward: tokens file .*broken\.json: not valid JSON/);
    }
    expect(readFileSync(broken, 'utf8')).toBe('{"authorization": ');
    const noMaster = join(dir, 'no-master.json');
    writeFileSync(noMaster, JSON.stringify({ tokens: { ci: { token: 'ABC123XYZ789' } } }));
    const r = await keyward(['token', 'what', '--file', noMaster]);
    expect(r.stderr).toMatch(/has no master token .*keyward token reset --file/);
  });
});
