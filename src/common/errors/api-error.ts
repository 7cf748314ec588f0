import { HttpStatus } from '@nestjs/common';

/** Error codes of the envelope (the Publisher-style envelope, plus a few codes of our own). */
export type ErrorCode =
  | 'bad_request'
  | 'authentication_error'
  | 'authorization_error'
  | 'not_found'
  | 'method_not_allowed'
  | 'conflict'
  | 'gone'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'rate_limited'
  | 'internal_error'
  | 'service_unavailable';

export const MESSAGES = {
  unauthenticated: 'Invalid or missing API token',
  expired: 'Token expired',
  forbidden: 'Insufficient permissions',
} as const;

/** An error that the global filter writes as `{"error":{code,message,data,trace_id}}`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly data: Record<string, unknown> = {},
    /** Seconds for a `Retry-After` header (429, 503). */
    readonly retryAfter?: number,
  ) {
    super(message);
  }

  static badRequest(message: string, data: Record<string, unknown> = {}) {
    return ApiError.of(HttpStatus.BAD_REQUEST, 'bad_request', message, data);
  }
  /** 401. The error for each of the two messages is made once, frozen and reused (like the 429s). */
  static unauthenticated(message: (typeof MESSAGES)['unauthenticated' | 'expired'] = MESSAGES.unauthenticated) {
    let error = UNAUTHENTICATED.get(message);
    if (!error) {
      error = ApiError.of(HttpStatus.UNAUTHORIZED, 'authentication_error', message);
      Object.freeze(error.data);
      UNAUTHENTICATED.set(message, Object.freeze(error));
    }
    return error;
  }
  static forbidden(message: string = MESSAGES.forbidden, data: Record<string, unknown> = {}) {
    return ApiError.of(HttpStatus.FORBIDDEN, 'authorization_error', message, data);
  }
  static notFound(message = 'Not found', data: Record<string, unknown> = {}) {
    return ApiError.of(HttpStatus.NOT_FOUND, 'not_found', message, data);
  }
  /**
   * 429: try again in `retryAfterMs` (sent as `Retry-After`, whole seconds, at least 1). One frozen error
   * per message and number of seconds is made and reused: refusing a flood costs no allocation.
   */
  static rateLimited(message: string, retryAfterMs: number) {
    const seconds = retryAfterSeconds(retryAfterMs);
    let bySeconds = REFUSALS.get(message);
    if (!bySeconds) {
      if (REFUSALS.size >= MAX_REFUSAL_MESSAGES) REFUSALS.clear();
      REFUSALS.set(message, (bySeconds = new Map()));
    }
    let error = bySeconds.get(seconds);
    if (!error) {
      error = ApiError.of(HttpStatus.TOO_MANY_REQUESTS, 'rate_limited', message, { retry_after: seconds }, seconds);
      Object.freeze(error.data);
      if (bySeconds.size >= MAX_REFUSAL_SECONDS) bySeconds.clear();
      bySeconds.set(seconds, Object.freeze(error));
    }
    return error;
  }
  /** 503: the service cannot answer now; `Retry-After` says when to try again. */
  static unavailable(message: string, retryAfterMs: number) {
    const seconds = retryAfterSeconds(retryAfterMs);
    return new ApiError(
      HttpStatus.SERVICE_UNAVAILABLE,
      'service_unavailable',
      message,
      { retry_after: seconds },
      seconds,
    );
  }
  static conflict(message: string, data: Record<string, unknown> = {}) {
    return ApiError.of(HttpStatus.CONFLICT, 'conflict', message, data);
  }

  /**
   * 4xx errors are answers, not faults: they are never logged with a stack, so none is captured (a
   * stack trace costs more than the rest of building the error).
   */
  private static of(
    status: number,
    code: ErrorCode,
    message: string,
    data: Record<string, unknown> = {},
    retryAfter?: number,
  ): ApiError {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      return new ApiError(status, code, message, data, retryAfter);
    } finally {
      Error.stackTraceLimit = limit;
    }
  }
}

/** The shared 429 errors (see rateLimited) by message and seconds, bounded: messages are constants, seconds at most a window. */
const REFUSALS = new Map<string, Map<number, ApiError>>();
const MAX_REFUSAL_MESSAGES = 100;
const MAX_REFUSAL_SECONDS = 10_000;

/** The shared 401 errors (see unauthenticated). */
const UNAUTHENTICATED = new Map<string, ApiError>();

function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
