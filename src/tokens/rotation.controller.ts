import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiConflictResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { Auth, Authenticated } from '../access/access.decorators.js';
import { Permission } from '../access/permissions.js';
import type { Principal } from '../access/principal.js';
import { ErrorEnvelopeDto } from '../common/errors/error-envelope.dto.js';
import { UuidParam } from '../common/http/uuid-param.js';
import { parseDuration } from '../common/time.js';
import { validationFailed } from '../common/errors/validation.js';
import { EXAMPLE_TOKEN_ID } from './dto/publisher.dto.js';
import { RotateApiTokenDto, RotatedTokenResponseDto, RotateTokenDto } from './dto/rotate.dto.js';
import { RotationService } from './rotation.service.js';
import { ConfirmsInvalidation } from '../verification/invalidation-confirmation.js';

const MAX_GRACE_MS = 30 * 86_400_000;

/** `grace` absent or null: none. */
export function parseGrace(grace: string | null | undefined): number {
  if (grace === undefined || grace === null) return 0;
  const value = parseDuration(grace);
  if (value === null || value > MAX_GRACE_MS) {
    throw validationFailed({ grace: ['grace must be between 0s and 30d'] });
  }
  return value;
}

/**
 * Rotation: a new secret for the same token identity (id, lookup id, stub, rights, expiry). The old
 * secret keeps working for the optional grace period, then not; without one it stops at once.
 */
@ApiTags('rotation')
@ApiBadRequestResponse({ description: 'Malformed JSON, unknown fields, malformed id or grace', type: ErrorEnvelopeDto })
@ApiNotFoundResponse({ description: 'No such token in your scope', type: ErrorEnvelopeDto })
@ApiConflictResponse({ description: 'The token is revoked, expired, used or single-use', type: ErrorEnvelopeDto })
@Controller()
export class RotationController {
  constructor(private readonly tokens: RotationService) {}

  @Post('v1/tokens/:tokenID/rotate')
  @ConfirmsInvalidation()
  @HttpCode(200)
  @Authenticated({ permission: Permission.UpdateToken })
  @ApiOperation({
    operationId: 'tokenRotate',
    summary: 'Rotate any token (global or project) in your scope',
    description:
      'Issues a new secret for the same token (same id, stub, rights and expiry), returned once. The previous ' +
      'secret keeps working for `grace` (default none, at most 30d), then gets 401. The body may be omitted.',
  })
  @ApiBody({ type: RotateTokenDto, required: false, examples: { 'ten minutes of grace': { value: { grace: '10m' } } } })
  @ApiOkResponse({ type: RotatedTokenResponseDto })
  rotate(
    @Auth() caller: Principal,
    @UuidParam('tokenID') id: string,
    @Body() dto: RotateTokenDto,
  ): Promise<RotatedTokenResponseDto> {
    return this.tokens.rotate(caller, id, parseGrace(dto.grace), { anyKind: true });
  }

  @Post(['publisher.v1/api-token/rotate', 'api-token/rotate'])
  @ConfirmsInvalidation()
  @HttpCode(200)
  @Authenticated({ permission: Permission.UpdateToken })
  @ApiOperation({
    operationId: 'apiTokenRotate',
    summary: 'Rotate a Publisher-style token (new secret, same id)',
    description:
      'Put the `id` of a token (from `create` or `list`) in the body. Same rules as `POST /v1/tokens/{tokenID}/rotate`.',
  })
  @ApiBody({
    type: RotateApiTokenDto,
    examples: { 'ten minutes of grace': { value: { id: EXAMPLE_TOKEN_ID, grace: '10m' } } },
  })
  @ApiOkResponse({ type: RotatedTokenResponseDto })
  rotatePublisher(@Auth() caller: Principal, @Body() dto: RotateApiTokenDto): Promise<RotatedTokenResponseDto> {
    return this.tokens.rotate(caller, dto.id, parseGrace(dto.grace));
  }
}
