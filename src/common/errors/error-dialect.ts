import { PATH_METADATA } from '@nestjs/common/constants.js';
import { ApiProperty, ApiPropertyOptional, DECORATORS } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { AddRouteConfig } from '../http/route-config.js';
import { ErrorEnvelopeDto } from './error-envelope.dto.js';
import type { ErrorBody } from './error-envelope.js';

/**
 * How a route writes its errors. `publisher` (the default): `{"error":{code,message,data,trace_id}}`.
 * `calyptia`: `{"error":"<message>","detail":"<optional>",...}`, the shape Calyptia Cloud's clients
 * decode (`error` is a string); `code`, `data` and `trace_id` ride along beside it.
 */
export type ErrorDialect = 'publisher' | 'calyptia';

const CONFIG_KEY = 'errorDialect';

class CalyptiaErrorDto {
  @ApiProperty({ example: 'Token not found', description: 'The message (a string, as Calyptia clients decode it)' })
  error: string;
  @ApiPropertyOptional({
    example: 'permissions: each value in permissions must be one of: create:*, read:*, update:*, delete:*',
    description: 'More about the error, when there is more to say',
  })
  detail?: string;
  @ApiProperty({ example: 'not_found', description: 'Keyward extension: the error code of the Publisher envelope' })
  code: string;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    example: {},
    description: 'Keyward extension: details; for bad_request, `fields` maps each invalid field to its messages',
  })
  data: Record<string, unknown>;
  @ApiProperty({ example: '5f0c2a9d81e6b3c4d7a1e2f3', description: 'Keyward extension; also the X-Trace-Id header' })
  trace_id: string;
}

export interface CalyptiaErrorBody {
  error: string;
  detail?: string;
  code: string;
  data: Record<string, unknown>;
  trace_id: string;
}

/**
 * Class decorator: every route of the controller writes its errors in `dialect`, whichever layer
 * raises them (body parsing, the guard, validation, the handler), and the OpenAPI document shows that
 * shape. The dialect travels in the Fastify route config, which the global filter reads.
 */
export function ErrorDialect(dialect: ErrorDialect): ClassDecorator {
  return (target) => {
    const proto = (target as unknown as { prototype: Record<string, unknown> }).prototype;
    retypeResponses(target);
    for (const key of Object.getOwnPropertyNames(proto)) {
      const method = proto[key];
      if (key === 'constructor' || typeof method !== 'function') continue;
      if (Reflect.getMetadata(PATH_METADATA, method) === undefined) continue;
      AddRouteConfig({ [CONFIG_KEY]: dialect })(proto, key, Object.getOwnPropertyDescriptor(proto, key)!);
      if (dialect === 'calyptia') retypeResponses(method);
    }
  };
}

/** Documented error responses in the Publisher envelope become the Calyptia shape. */
function retypeResponses(target: object): void {
  const responses = Reflect.getMetadata(DECORATORS.API_RESPONSE, target) as
    Record<string, { type?: unknown; examples?: Record<string, { value?: unknown }> }> | undefined;
  if (!responses) return;
  const out: typeof responses = {};
  for (const [status, entry] of Object.entries(responses)) {
    if (entry.type !== ErrorEnvelopeDto) {
      out[status] = entry;
      continue;
    }
    const examples = entry.examples
      ? Object.fromEntries(
          Object.entries(entry.examples).map(([k, v]) => [
            k,
            isEnvelope(v.value) ? { ...v, value: toCalyptia(v.value) } : v,
          ]),
        )
      : undefined;
    out[status] = { ...entry, type: CalyptiaErrorDto, ...(examples ? { examples } : {}) };
  }
  Reflect.defineMetadata(DECORATORS.API_RESPONSE, out, target);
}

function isEnvelope(v: unknown): v is ErrorBody {
  return !!v && typeof v === 'object' && typeof (v as { error?: unknown }).error === 'object';
}

/** Paths of the Calyptia-style API: their errors are in its shape even before a route matched. */
const CALYPTIA_PATHS = /^\/v1\/(projects|project_tokens)(\/|\?|$)/;

/**
 * The dialect of the route that is answering. Errors raised before any route matched (a path parameter
 * too long, a malformed URL, an unknown method or path) follow the API style of the path asked for.
 */
export function dialectOf(request: FastifyRequest): ErrorDialect {
  // Fastify builds a new routeOptions object on each read: read once.
  const route = request.routeOptions;
  const config = (route?.config ?? {}) as unknown as Record<string, unknown>;
  if (config[CONFIG_KEY] === 'calyptia') return 'calyptia';
  if (!route?.url && CALYPTIA_PATHS.test(request.url ?? '')) return 'calyptia';
  return 'publisher';
}

/** `detail` says what `data` holds, in words a string-only client can show. */
function detailOf(data: Record<string, unknown>): string | undefined {
  const fields = data.fields as Record<string, string[]> | undefined;
  if (fields && typeof fields === 'object') {
    return Object.entries(fields)
      .map(([field, messages]) => `${field}: ${messages.join(', ')}`)
      .join('; ');
  }
  if (Array.isArray(data.missing)) return `missing permissions: ${data.missing.join(', ')}`;
  return undefined;
}

export function toCalyptia(body: ErrorBody): CalyptiaErrorBody {
  const { code, message, data, trace_id } = body.error;
  const detail = detailOf(data);
  return { error: message, ...(detail !== undefined ? { detail } : {}), code, data, trace_id };
}
