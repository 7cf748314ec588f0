import { Injectable, Param, type PipeTransform } from '@nestjs/common';
import { validationFailed } from './validation.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A path parameter that must be a UUID: 400 in the envelope otherwise; normalised to lower case. */
@Injectable()
export class ParseUuidParamPipe implements PipeTransform<string, string> {
  constructor(private readonly name: string) {}

  transform(value: string): string {
    if (typeof value !== 'string' || !UUID.test(value)) {
      throw validationFailed({ [this.name]: [`${this.name} must be a UUID`] });
    }
    return value.toLowerCase();
  }
}

/** `@UuidParam('projectID') projectId: string`: the path parameter, validated as a UUID. */
export const UuidParam = (name: string) => Param(name, new ParseUuidParamPipe(name));
