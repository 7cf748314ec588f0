import { randomBytes } from 'node:crypto';

export const TRACE_HEADER = 'x-trace-id';
const SAFE_INCOMING = /^[A-Za-z0-9._-]{8,64}$/;

/** A request's trace id: the caller's X-Request-Id/X-Trace-Id when well-formed, else a fresh one. */
export function traceIdFor(headers: Record<string, string | string[] | undefined>): string {
  for (const name of [TRACE_HEADER, 'x-request-id']) {
    const value = headers[name];
    if (typeof value === 'string' && SAFE_INCOMING.test(value)) return value;
  }
  return randomBytes(12).toString('hex');
}
