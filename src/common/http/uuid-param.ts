import { Injectable, Param, type PipeTransform } from '@nestjs/common';
import { ApiParam } from '@nestjs/swagger';
import { validationFailed } from '../errors/validation.js';
import { isUuid } from '../uuid.js';

/** A path parameter that must be a UUID: 400 in the envelope otherwise; normalised to lower case. */
@Injectable()
class ParseUuidParamPipe implements PipeTransform<string, string> {
  constructor(private readonly name: string) {}

  transform(value: string): string {
    if (typeof value !== 'string' || !isUuid(value)) {
      throw validationFailed({ [this.name]: [`${this.name} must be a UUID`] });
    }
    return value.toLowerCase();
  }
}

/**
 * `@UuidParam('projectID') projectId: string`: the path parameter, validated as a UUID, and documented
 * in OpenAPI as `format: uuid` in the same breath.
 */
export const UuidParam =
  (name: string): ParameterDecorator =>
  (target, key, index) => {
    Param(name, new ParseUuidParamPipe(name))(target, key, index);
    if (key === undefined) return;
    const descriptor = Object.getOwnPropertyDescriptor(target, key);
    if (descriptor) ApiParam({ name, type: String, format: 'uuid' })(target, key, descriptor);
  };
