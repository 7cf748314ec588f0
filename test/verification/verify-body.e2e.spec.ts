import { describe, expect, it } from 'vitest';
import { envelopeOf, useApp } from '../support/app.js';

/**
 * `POST /v1/tokens/verify` checks its body by hand (no class-validator on the hot path): these are the
 * exact 400s the DTO validation gave, field by field and message by message.
 */

const t = useApp();
const api = t.api;

const TOKEN_TYPE = [
  'token must be shorter than or equal to 512 characters',
  'token must be longer than or equal to 1 characters',
  'token must be a string',
];
const PROJECT_TYPE = [
  'project must be shorter than or equal to 200 characters',
  'project must be longer than or equal to 1 characters',
  'project must be a string',
];
const PERMISSION =
  'permission must be one of: create:*, read:*, update:*, delete:*, create:token, read:token, update:token, ' +
  'delete:token, create:project, read:project, update:project, delete:project, read:audit, read:metrics, manage:webhook';

const FIELD_CASES: Array<[string, string | undefined, Record<string, string[]>]> = [
  ['no body', undefined, { token: TOKEN_TYPE }],
  ['empty body', '', { token: TOKEN_TYPE }],
  ['{}', '{}', { token: TOKEN_TYPE }],
  ['null', 'null', { token: TOKEN_TYPE }],
  ['token: 1', '{"token":1}', { token: TOKEN_TYPE }],
  ['token: null', '{"token":null}', { token: TOKEN_TYPE }],
  ['token: ["x"]', '{"token":["x"]}', { token: TOKEN_TYPE }],
  ['token: ""', '{"token":""}', { token: ['token must be longer than or equal to 1 characters'] }],
  [
    'token of 513 characters',
    JSON.stringify({ token: 'a'.repeat(513) }),
    { token: ['token must be shorter than or equal to 512 characters'] },
  ],
  ['unknown field', '{"token":"x","extra":1}', { extra: ['extra is not a known field'] }],
  [
    'unknown fields and no token',
    '{"a":1,"b":2}',
    { a: ['a is not a known field'], b: ['b is not a known field'], token: TOKEN_TYPE },
  ],
  ['permission outside the enum', '{"token":"x","permission":"root"}', { permission: [PERMISSION] }],
  ['permission: 1', '{"token":"x","permission":1}', { permission: [PERMISSION] }],
  ['project: ""', '{"token":"x","project":""}', { project: ['project must be longer than or equal to 1 characters'] }],
  ['project: 5', '{"token":"x","project":5}', { project: PROJECT_TYPE }],
  [
    'project of 201 characters',
    JSON.stringify({ token: 'x', project: 'p'.repeat(201) }),
    { project: ['project must be shorter than or equal to 200 characters'] },
  ],
  [
    'everything wrong',
    '{"token":7,"project":[],"permission":"x","z":0}',
    { token: TOKEN_TYPE, project: PROJECT_TYPE, permission: [PERMISSION], z: ['z is not a known field'] },
  ],
];

describe('POST /v1/tokens/verify body validation', () => {
  it.each(FIELD_CASES)('%s → 400 with the same field errors', async (_, raw, fields) => {
    const res = await api.call('POST', '/v1/tokens/verify', {
      raw,
      headers: raw === undefined ? {} : { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(400);
    expect(envelopeOf(res)).toMatchObject({
      code: 'bad_request',
      message: 'Request validation failed',
      data: { fields },
    });
    expect(Object.keys(envelopeOf(res).data.fields as object).sort()).toEqual(Object.keys(fields).sort());
  });

  it.each([['[]'], ['"x"'], ['1'], ['true']])('%s → 400 "Request body must be a JSON object"', async (raw) => {
    const res = await api.call('POST', '/v1/tokens/verify', { raw });
    expect(res.status).toBe(400);
    expect(envelopeOf(res)).toMatchObject({
      code: 'bad_request',
      message: 'Request body must be a JSON object',
      data: {},
    });
  });

  it("malformed JSON and __proto__ keys stay the parser's 400", async () => {
    for (const raw of ['{"token":', '{"token":"x","__proto__":{}}']) {
      const res = await api.call('POST', '/v1/tokens/verify', { raw });
      expect(res.status).toBe(400);
      expect(envelopeOf(res).message).toBe('Malformed JSON body');
    }
  });

  it('accepts a valid body, with null optional fields treated as absent', async () => {
    for (const body of [
      { token: 'x' },
      { token: 'x', project: null, permission: null },
      { token: 'x', project: 'p', permission: 'read:token' },
    ]) {
      const res = await api.post('/v1/tokens/verify', body);
      expect(res.status, JSON.stringify(body)).toBe(200);
      expect(res.body).toEqual({ valid: false, code: 'NOT_FOUND' });
    }
  });
});
