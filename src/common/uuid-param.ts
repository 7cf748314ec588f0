import { Injectable, Param, type PipeTransform } from '@nestjs/common';
import { validationFailed } from './validation.js';
import { isUuid } from './uuid.js';

/** A path parameter that must be a UUID: 400 in the envelope otherwise; normalised to lower case. */
@Injectable()
export class ParseUuidParamPipe implements PipeTransform<string, string> {
  constructor(private readonly name: string) {}

  transform(value: string): string {
    if (typeof value !== 'string' || !isUuid(value)) {
      throw validationFailed({ [this.name]: [`${this.name} must be a UUID`] });
    }
    return value.toLowerCase();
  }
}

/** `@UuidParam('projectID') projectId: string`: the path parameter, validated as a UUID. */
export const UuidParam = (name: string) => Param(name, new ParseUuidParamPipe(name));
