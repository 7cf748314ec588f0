import { randomUUID } from 'node:crypto';

export const TRACE_HEADER = 'x-trace-id';
const SAFE_INCOMING = /^[A-Za-z0-9._-]{8,64}$/;

/** A request's trace id: the caller's X-Request-Id/X-Trace-Id when well-formed, else a fresh one. */
export function traceIdFor(headers: Record<string, string | string[] | undefined>): string {
  for (const name of [TRACE_HEADER, 'x-request-id']) {
    const value = headers[name];
    if (typeof value === 'string' && SAFE_INCOMING.test(value)) return value;
  }
  // randomUUID draws from a buffered entropy pool: no syscall per request (unlike randomBytes).
  const u = randomUUID();
  return u.slice(0, 8) + u.slice(9, 13) + u.slice(15, 18) + u.slice(19, 23) + u.slice(24, 29);
}
