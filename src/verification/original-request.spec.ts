import { describe, expect, it } from 'vitest';
import { forwardedRequest, MAX_FORWARDED_URI_LENGTH } from './original-request.js';

describe('forwardedRequest', () => {
  it('reads nginx-style and Traefik/Caddy-style headers, nginx first', () => {
    expect(forwardedRequest({ 'x-original-method': 'get', 'x-original-uri': '/a?b=1' })).toEqual({
      method: 'GET',
      uri: '/a?b=1',
    });
    expect(forwardedRequest({ 'x-forwarded-method': 'POST', 'x-forwarded-uri': '/x' })).toEqual({
      method: 'POST',
      uri: '/x',
    });
    expect(forwardedRequest({ 'x-original-uri': '/n', 'x-forwarded-uri': '/t', 'x-forwarded-method': 'PUT' })).toEqual({
      method: 'PUT',
      uri: '/n',
    });
  });

  it('is null without any of them, and cuts absurd values', () => {
    expect(forwardedRequest({ host: 'x' })).toBeNull();
    const long = forwardedRequest({ 'x-original-uri': '/' + 'a'.repeat(10_000), 'x-original-method': 'M'.repeat(40) });
    expect(long!.uri).toHaveLength(MAX_FORWARDED_URI_LENGTH);
    expect(long!.method).toHaveLength(16);
  });
});
