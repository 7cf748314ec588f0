import {
  type ArgumentMetadata,
  Injectable,
  type PipeTransform,
  ValidationPipe,
  type ValidationError,
} from '@nestjs/common';
import { ApiError } from './api-error.js';
import { jsonBodyProblem } from '../http/json-body.js';

/** Field errors as `{ "field.path": ["message", ...] }`, the `data.fields` of a 400 envelope. */
function fieldErrors(errors: ValidationError[], parent = ''): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const e of errors) {
    const path = parent ? `${parent}.${e.property}` : e.property;
    if (e.constraints) {
      out[path] = Object.entries(e.constraints).map(([kind, message]) =>
        kind === 'whitelistValidation' ? `${path} is not a known field` : message,
      );
    }
    if (e.children?.length) Object.assign(out, fieldErrors(e.children, path));
  }
  return out;
}

export function validationFailed(fields: Record<string, string[]>): ApiError {
  return ApiError.badRequest('Request validation failed', { fields });
}

/** Bodies must be JSON objects when a DTO class is expected: arrays, strings and numbers are 400. */
@Injectable()
export class RequireObjectBodyPipe implements PipeTransform {
  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    if (metadata.type !== 'body' || !metadata.metatype || metadata.metatype === Object) return value;
    if (value === undefined || value === null || value === '') return {};
    if (typeof value !== 'object' || Array.isArray(value)) {
      throw ApiError.badRequest('Request body must be a JSON object');
    }
    return value;
  }
}

/**
 * Query strings and path parameters get the same text rules as JSON bodies: PostgreSQL text cannot hold
 * NUL characters (`?name=%00`), so they are a 400 here rather than a database error later. Runs after the
 * guard, like every pipe, so a request without a token is still a 401 first.
 */
@Injectable()
export class StorableTextPipe implements PipeTransform {
  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    if (metadata.type !== 'query' && metadata.type !== 'param') return value;
    const entries: [string, unknown][] =
      metadata.data === undefined && value && typeof value === 'object'
        ? Object.entries(value)
        : [[metadata.data ?? metadata.type, value]];
    const fields: Record<string, string[]> = {};
    for (const [name, item] of entries) {
      const problem = jsonBodyProblem(name) ?? jsonBodyProblem(item);
      if (problem) fields[name] = [`${name}: ${problem}`];
    }
    if (Object.keys(fields).length) throw validationFailed(fields);
    return value;
  }
}

export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    transformOptions: { enableImplicitConversion: false },
    validationError: { target: false, value: false },
    stopAtFirstError: false,
    exceptionFactory: (errors) => validationFailed(fieldErrors(errors)),
  });
}
