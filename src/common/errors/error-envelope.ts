import { HttpException, HttpStatus } from '@nestjs/common';
import { ApiError, type ErrorCode, MESSAGES } from './api-error.js';
import { DATABASE_RETRY_AFTER_SECONDS, isDatabaseUnavailable } from './database-errors.js';

export interface ErrorBody {
  error: { code: ErrorCode; message: string; data: Record<string, unknown>; trace_id: string };
}

export interface Mapped {
  status: number;
  code: ErrorCode;
  message: string;
  data: Record<string, unknown>;
  /** Seconds for a `Retry-After` header. */
  retryAfter?: number;
}

/** The one message of every 415, whichever layer refuses the media type. */
const UNSUPPORTED_MEDIA_TYPE_MESSAGE = 'Unsupported Content-Type: send application/json';

export const DATABASE_UNAVAILABLE_MESSAGE = 'The database is temporarily unavailable; retry later';

const STATUS_CODES: Record<number, ErrorCode> = {
  400: 'bad_request',
  401: 'authentication_error',
  403: 'authorization_error',
  404: 'not_found',
  405: 'method_not_allowed',
  406: 'bad_request',
  409: 'conflict',
  410: 'gone',
  411: 'bad_request',
  413: 'payload_too_large',
  414: 'bad_request',
  415: 'unsupported_media_type',
  422: 'bad_request',
  429: 'rate_limited',
  431: 'bad_request',
  503: 'service_unavailable',
};

function codeForStatus(status: number): ErrorCode {
  return STATUS_CODES[status] ?? (status >= 500 ? 'internal_error' : 'bad_request');
}

/** Fastify's own errors (body parsing, limits, content types) carry `statusCode` and a `code`. */
function fastifyError(e: unknown): Mapped | undefined {
  if (!e || typeof e !== 'object') return undefined;
  const err = e as { statusCode?: unknown; code?: unknown; message?: unknown };
  if (typeof err.statusCode !== 'number' || typeof err.code !== 'string' || !err.code.startsWith('FST_')) {
    return undefined;
  }
  const status = err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 400;
  const messages: Record<string, string> = {
    FST_ERR_CTP_BODY_TOO_LARGE: 'Request body is too large',
    FST_ERR_CTP_INVALID_MEDIA_TYPE: UNSUPPORTED_MEDIA_TYPE_MESSAGE,
    FST_ERR_CTP_EMPTY_JSON_BODY: 'Request body is empty',
    FST_ERR_CTP_INVALID_JSON_BODY: 'Malformed JSON body',
    FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'Content-Length does not match the body',
    FST_ERR_BAD_URL: 'Malformed URL (bad percent-encoding)',
    FST_ERR_MAX_PARAM_LENGTH: 'URI too long: a path parameter is longer than allowed',
  };
  const own =
    typeof err.message === 'string' &&
    ((err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' && err.message.startsWith('Invalid JSON body')) ||
      err.code === 'FST_ERR_CTP_INVALID_FORM_BODY');
  const message = own ? (err.message as string) : (messages[err.code] ?? 'Bad request');
  return { status, code: codeForStatus(status), message, data: {} };
}

/** Prisma's known request errors: unique violation → 409, record not found → 404, bad value → 400. */
function prismaError(e: unknown): Mapped | undefined {
  if (!e || typeof e !== 'object') return undefined;
  const err = e as { name?: unknown; code?: unknown };
  if (err.name !== 'PrismaClientKnownRequestError' || typeof err.code !== 'string') return undefined;
  switch (err.code) {
    case 'P2002':
      return { status: 409, code: 'conflict', message: 'A resource with these values already exists', data: {} };
    case 'P2025':
    case 'P2001':
      return { status: 404, code: 'not_found', message: 'Not found', data: {} };
    case 'P2000':
    case 'P2006':
    case 'P2007':
    case 'P2023':
      return { status: 400, code: 'bad_request', message: 'Invalid value', data: {} };
    default:
      return undefined;
  }
}

/** Turn anything thrown into the envelope's status, code, message and data. Never leaks internals. */
export function toEnvelope(exception: unknown): Mapped {
  if (exception instanceof ApiError) {
    return {
      status: exception.status,
      code: exception.code,
      message: exception.message,
      data: exception.data,
      retryAfter: exception.retryAfter,
    };
  }
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const response = exception.getResponse();
    let message = exception.message;
    if (status === HttpStatus.UNAUTHORIZED) message = MESSAGES.unauthenticated;
    else if (status === HttpStatus.FORBIDDEN) message = MESSAGES.forbidden;
    else if (status === HttpStatus.NOT_FOUND) message = 'Not found';
    else if (status === HttpStatus.UNSUPPORTED_MEDIA_TYPE) message = UNSUPPORTED_MEDIA_TYPE_MESSAGE;
    else if (typeof response === 'object' && response && 'message' in response) {
      const m = (response as { message: unknown }).message;
      if (typeof m === 'string') message = m;
    }
    return { status, code: codeForStatus(status), message, data: {} };
  }
  // Refused, dropped or timed-out database connections, whichever layer (pg, the adapter, Prisma) wraps them.
  if (isDatabaseUnavailable(exception)) {
    return {
      status: 503,
      code: 'service_unavailable',
      message: DATABASE_UNAVAILABLE_MESSAGE,
      data: {},
      retryAfter: DATABASE_RETRY_AFTER_SECONDS,
    };
  }
  return (
    fastifyError(exception) ??
    prismaError(exception) ?? { status: 500, code: 'internal_error', message: 'Internal server error', data: {} }
  );
}

export function envelope(mapped: Mapped, traceId: string): ErrorBody {
  return { error: { code: mapped.code, message: mapped.message, data: mapped.data, trace_id: traceId } };
}

/**
 * What the log may say about an unexpected error: its class, its code and where it was thrown. Never its
 * message: database and Prisma messages quote the query's arguments (payloads, argon2 hashes, lookup ids).
 */
export function loggableError(exception: unknown): { summary: string; frames: string | undefined } {
  if (!(exception instanceof Error)) return { summary: `non-Error thrown (${typeof exception})`, frames: undefined };
  const code = (exception as { code?: unknown }).code;
  const name = exception.name;
  const summary = typeof code === 'string' || typeof code === 'number' ? `${name} (code ${code})` : name;
  const frames = exception.stack
    ?.split('\n')
    .filter((line) => /^\s+at /.test(line))
    .join('\n');
  return { summary, frames: frames || undefined };
}
