/**
 * What a gateway says about the request it is authorising, for the access log only: nginx sends what
 * its config names (conventionally `X-Original-Method` / `X-Original-URI`), Traefik and Caddy send
 * `X-Forwarded-Method` / `X-Forwarded-Uri`. These headers never influence the verdict.
 */
export interface ForwardedRequest {
  method: string | null;
  uri: string | null;
}

const METHOD_HEADERS = ['x-original-method', 'x-forwarded-method'] as const;
const URI_HEADERS = ['x-original-uri', 'x-forwarded-uri', 'x-original-url'] as const;
/** Longer values are cut: a log line is not a place for a 64 KiB header. */
export const MAX_FORWARDED_URI_LENGTH = 2048;

function first(headers: Record<string, string | string[] | undefined>, names: readonly string[]): string | null {
  for (const name of names) {
    const v = headers[name];
    if (typeof v === 'string' && v.length) return v;
  }
  return null;
}

/** Null when the gateway sent neither header (a plain caller, or a gateway configured not to). */
export function forwardedRequest(headers: Record<string, string | string[] | undefined>): ForwardedRequest | null {
  const method = first(headers, METHOD_HEADERS);
  const uri = first(headers, URI_HEADERS);
  if (method === null && uri === null) return null;
  return {
    method: method && method.length <= 16 ? method.toUpperCase() : method && method.slice(0, 16),
    uri: uri && uri.length > MAX_FORWARDED_URI_LENGTH ? uri.slice(0, MAX_FORWARDED_URI_LENGTH) : uri,
  };
}
