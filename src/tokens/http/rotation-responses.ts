import { applyDecorators } from '@nestjs/common';
import { ApiBadRequestResponse, ApiConflictResponse, ApiNotFoundResponse, ApiTags } from '@nestjs/swagger';
import { ErrorEnvelopeDto } from '../../common/errors/error-envelope.dto.js';

/** The tag and error answers both rotation routes (Publisher-style and REST) document. */
export function RotationResponses(): ClassDecorator {
  return applyDecorators(
    ApiTags('rotation'),
    ApiBadRequestResponse({
      description: 'Malformed JSON, unknown fields, malformed id or grace',
      type: ErrorEnvelopeDto,
    }),
    ApiNotFoundResponse({ description: 'No such token in your scope', type: ErrorEnvelopeDto }),
    ApiConflictResponse({ description: 'The token is revoked, expired, used or single-use', type: ErrorEnvelopeDto }),
  );
}
