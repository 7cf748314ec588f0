import { describe, expect, it } from 'vitest';
import { parseTokensFile, TokensFileError } from './tokens-file.parser.js';

const FILE = '/etc/keyward/tokens.json';
const HASH = '$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3q2+7wR3lQ6vQw2d1S3f4g5h6j7k8l9m0n1o2p3q4r5';
const parse = (doc: unknown) => parseTokensFile(typeof doc === 'string' ? doc : JSON.stringify(doc), FILE);
const problem = (doc: unknown) => {
  try {
    parse(doc);
  } catch (err) {
    expect(err).toBeInstanceOf(TokensFileError);
    return (err as Error).message;
  }
  throw new Error('parsed without error');
};
const noFlags = { allow_overwrite: false, allow_delete: false, existing_projects_only: false };

describe('named tokens: {"tokens": {name: {...}}}', () => {
  it('reads the documented example as-is, with defaults for omitted fields', () => {
    const entries = parse({
      tokens: {
        admin: { token: 'your-secret-token', allow_overwrite: true, allow_delete: true },
        'ci-deploy': { token: 'ABC123XYZ789', projects: ['my-app'] },
        'team-a': {
          token: 'DEF456UVW012',
          projects: ['team-a-api', 'team-a-cli', 'team-a-sdk'],
          allow_overwrite: true,
        },
        'updater-only': { token: 'XYZ789ABC123', existing_projects_only: true },
      },
    });
    expect(entries.map((e) => e.name)).toEqual(['admin', 'ci-deploy', 'team-a', 'updater-only']);
    expect(entries[0]).toMatchObject({
      secret: 'your-secret-token',
      enabled: true,
      access: 'write',
      projects: null,
      flags: { allow_overwrite: true, allow_delete: true, existing_projects_only: false },
    });
    expect(entries[1]).toMatchObject({ projects: ['my-app'], flags: noFlags });
    expect(entries[2].flags.allow_overwrite).toBe(true);
    expect(entries[3].flags).toEqual({ ...noFlags, existing_projects_only: true });
  });

  it('takes an argon2 hash in token_hash or as the token value itself', () => {
    const [a, b] = parse({ tokens: { a: { token_hash: HASH }, b: { token: HASH } } });
    expect(a).toMatchObject({ hash: HASH });
    expect(a.secret).toBeUndefined();
    expect(b).toMatchObject({ hash: HASH });
    expect(b.secret).toBeUndefined();
  });

  it('keeps the stub of a hashed entry as the start its secret must have (not for plain secrets)', () => {
    const [a, b, c, d] = parse({
      tokens: {
        a: { token_hash: HASH, token_stub: 'kw_ab12cd…' },
        b: { token: HASH, token_stub: 'kw_ab12cd...' },
        c: { token_hash: HASH, token_stub: '…' },
        d: { token: 'plain-secret-1', token_stub: 'plain…' },
      },
    });
    expect(a.stub).toBe('kw_ab12cd');
    expect(b.stub).toBe('kw_ab12cd');
    expect(c.stub).toBeUndefined();
    expect(d.stub).toBeUndefined();
    const [k, m] = parse({
      api_keys: [{ key_hash: HASH, key_stub: 'hcpms_live_a4…', name: 'k' }],
      authorization: { token_hash: HASH, token_stub: 'lightd_ad2f7f…' },
    });
    expect(k.stub).toBe('hcpms_live_a4');
    expect(m.stub).toBe('lightd_ad2f7f');
  });

  it('accepts enabled and access per entry', () => {
    const [e] = parse({ tokens: { ro: { token: 'read-only-token', access: 'read', enabled: false } } });
    expect(e).toMatchObject({ access: 'read', enabled: false });
  });
});

describe('API keys: api_keys', () => {
  const keys = [
    { key: 'hcpms_live_a4b9...', name: 'Production', enabled: true },
    { key: 'hcpms_live_e7c1...', name: 'Staging', enabled: true },
    { key: 'hcpms_live_old__', name: 'Old (rotate)', enabled: false },
  ];

  it('reads headless_cpms.api_keys inside a larger config.json, keeping disabled keys', () => {
    const entries = parse({ headless_cpms: { host: '0.0.0.0', port: 8080, api_keys: keys }, other: { x: 1 } });
    expect(entries.map((e) => [e.name, e.secret, e.enabled])).toEqual([
      ['Production', 'hcpms_live_a4b9...', true],
      ['Staging', 'hcpms_live_e7c1...', true],
      ['Old (rotate)', 'hcpms_live_old__', false],
    ]);
    expect(entries.every((e) => e.access === 'write' && e.projects === null)).toBe(true);
  });

  it('reads a top-level api_keys list, and key_hash; an unnamed key is named by its place', () => {
    const entries = parse({ api_keys: [{ key: 'k-123456' }, { key_hash: HASH, name: 'hashed' }] });
    expect(entries[0]).toMatchObject({ name: 'api_keys[0]', enabled: true, secret: 'k-123456' });
    expect(entries[1]).toMatchObject({ name: 'hashed', hash: HASH });
  });
});

describe('master token: authorization', () => {
  it('reads the master token', () => {
    const [e] = parse({
      authorization: { enabled: true, token: 'lightd_ad2f7fc49ed640429c450e14ed07c8d5' },
      port: 8070,
    });
    expect(e).toMatchObject({
      name: 'master',
      secret: 'lightd_ad2f7fc49ed640429c450e14ed07c8d5',
      enabled: true,
      projects: null,
    });
  });

  it('reads a hash-only master token with its stub, and enabled: false', () => {
    const [e] = parse({ authorization: { enabled: false, token_hash: HASH, token_stub: 'kw_ab12cd…' } });
    expect(e).toMatchObject({ name: 'master', hash: HASH, enabled: false });
  });

  it('combines with the other layouts in one file', () => {
    const entries = parse({
      authorization: { token: 'master-secret-1234' },
      tokens: { ci: { token: 'ci-secret' } },
      api_keys: [{ key: 'k1', name: 'P' }],
    });
    expect(entries.map((e) => e.name).sort()).toEqual(['P', 'ci', 'master']);
  });
});

describe('bad files are rejected with a message naming the file and the entry', () => {
  it.each([
    ['{"tokens": ', /^tokens file \/etc\/keyward\/tokens\.json: not valid JSON/],
    ['[1, 2]', /must be a JSON object/],
    ['"text"', /must be a JSON object/],
    [{ port: 8080 }, /has none of "tokens".*"api_keys".*"authorization"/],
    [{ tokens: ['a'] }, /tokens must be an object/],
    [{ tokens: { ci: 'abc' } }, /tokens\["ci"\] must be an object/],
    [
      { tokens: { ci: { token: 'abc', projects: 'my-app' } } },
      /: tokens\["ci"\]\.projects must be an array of strings/,
    ],
    [{ tokens: { ci: { token: 'abc', projects: [1] } } }, /tokens\["ci"\]\.projects\[0\] must be a string/],
    [{ tokens: { ci: { token: 'abc', projects: [] } } }, /tokens\["ci"\]\.projects must not be empty/],
    [{ tokens: { ci: { token: 'abc', allow_delete: 'yes' } } }, /tokens\["ci"\]\.allow_delete must be true or false/],
    [{ tokens: { ci: { token: 'abc', alow_delete: true } } }, /tokens\["ci"\]: unknown field "alow_delete"/],
    [{ tokens: { ci: { projects: ['p'] } } }, /tokens\["ci"\] has no token \(or token_hash\)/],
    [{ tokens: { ci: { token: '' } } }, /tokens\["ci"\]\.token must not be empty/],
    [{ tokens: { ci: { token: 42 } } }, /tokens\["ci"\]\.token must be a string/],
    [{ tokens: { ci: { token: 'two words' } } }, /tokens\["ci"\]\.token must not contain whitespace/],
    [{ tokens: { ci: { token: 'x'.repeat(513) } } }, /tokens\["ci"\]\.token must be at most 512 characters/],
    [{ tokens: { ci: { token: 'abc', token_hash: HASH } } }, /tokens\["ci"\] gives both token and token_hash/],
    [{ tokens: { ci: { token_hash: 'sha1:abc' } } }, /tokens\["ci"\]\.token_hash must be an argon2 hash/],
    [
      { tokens: { a: { token: 'same-secret' }, b: { token: 'same-secret' } } },
      /tokens\["b"\] has the same secret as tokens\["a"\]/,
    ],
    [{ api_keys: { key: 'k' } }, /api_keys must be an array/],
    [{ api_keys: [{ key: 'k', name: 'x', enabled: 'true' }] }, /api_keys\[0\]\.enabled must be true or false/],
    [{ headless_cpms: { api_keys: [{ name: 'x' }] } }, /headless_cpms\.api_keys\[0\] has no key \(or key_hash\)/],
    [
      {
        api_keys: [
          { key: 'k1', name: 'x' },
          { key: 'k2', name: 'x' },
        ],
      },
      /api_keys\[1\] has the same name "x" as api_keys\[0\]/,
    ],
    [{ authorization: { enabled: true } }, /authorization has no token/],
    [{ authorization: 'lightd_x' }, /authorization must be an object/],
  ])('%j', (doc, message) => {
    expect(problem(doc)).toMatch(message);
  });

  it('never puts a secret in the message', () => {
    const msg = problem({ tokens: { a: { token: 'hunter2-secret' }, b: { token: 'hunter2-secret', projects: 'x' } } });
    expect(msg).not.toContain('hunter2');
    expect(problem({ tokens: { a: { token: 'hunter2-secret' }, b: { token: 'hunter2-secret' } } })).not.toContain(
      'hunter2',
    );
  });

  it('never quotes the file in a JSON syntax error (V8 would show a piece of it)', () => {
    for (const text of [
      '{"tokens": hunter2secret}',
      'hunter2secret',
      '{"tokens": {"a": {"token": "hunter2secret" x}}}',
      '{"tokens": {"a": {"token": "hunter2',
    ]) {
      const msg = problem(text);
      expect(msg).toMatch(/^tokens file \/etc\/keyward\/tokens\.json: not valid JSON \(/);
      expect(msg).not.toContain('hunter2');
    }
    expect(problem('{\n  "tokens": {\n    "a": {"token": "x"} "b"\n}')).toMatch(/at line 3, column 25\)$/);
  });

  it('lists every problem at once', () => {
    const msg = problem({ tokens: { a: { token: 1 }, b: { projects: 'x', token: 'ok' } } });
    expect(msg).toMatch(/tokens\["a"\]\.token.*; tokens\["b"\]\.projects/);
  });
});
