import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiConflictResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import ms from 'ms';
import { Auth, Authenticated } from '../access/access.decorators.js';
import { Permission } from '../access/permissions.js';
import type { Principal } from '../access/principal.js';
import { ErrorEnvelopeDto } from '../common/error-envelope.dto.js';
import { UuidParam } from '../common/uuid-param.js';
import { validationFailed } from '../common/validation.js';
import { RotateApiTokenDto, RotatedTokenResponseDto, RotateTokenDto } from './dto/rotate.dto.js';
import { RotationService } from './rotation.service.js';

const MAX_GRACE_MS = 30 * 86_400_000;

/** `grace` absent or null: none. */
export function parseGrace(grace: string | null | undefined): number {
  if (grace === undefined || grace === null) return 0;
  const value = ms(grace.trim().toLowerCase() as ms.StringValue);
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > MAX_GRACE_MS) {
    throw validationFailed({ grace: ['grace must be between 0s and 30d'] });
  }
  return value;
}

/**
 * Rotation: a new secret for the same token identity (id, lookup id, stub, rights, expiry). The old
 * secret keeps working for the optional grace period, then not; without one it stops at once.
 */
@ApiTags('rotation')
@ApiNotFoundResponse({ description: 'No such token in your scope', type: ErrorEnvelopeDto })
@ApiConflictResponse({ description: 'The token is revoked, expired, used or single-use', type: ErrorEnvelopeDto })
@Controller()
export class RotationController {
  constructor(private readonly tokens: RotationService) {}

  @Post('v1/tokens/:tokenID/rotate')
  @HttpCode(200)
  @Authenticated({ permission: Permission.UpdateToken })
  @ApiOperation({ operationId: 'tokenRotate', summary: 'Rotate any token (global or project) in your scope' })
  @ApiOkResponse({ type: RotatedTokenResponseDto })
  rotate(
    @Auth() caller: Principal,
    @UuidParam('tokenID') id: string,
    @Body() dto: RotateTokenDto,
  ): Promise<RotatedTokenResponseDto> {
    return this.tokens.rotate(caller, id, parseGrace(dto.grace), { anyKind: true });
  }

  @Post(['publisher.v1/api-token/rotate', 'api-token/rotate'])
  @HttpCode(200)
  @Authenticated({ permission: Permission.UpdateToken })
  @ApiOperation({ operationId: 'apiTokenRotate', summary: 'Rotate a Publisher-style token (new secret, same id)' })
  @ApiOkResponse({ type: RotatedTokenResponseDto })
  rotatePublisher(@Auth() caller: Principal, @Body() dto: RotateApiTokenDto): Promise<RotatedTokenResponseDto> {
    return this.tokens.rotate(caller, dto.id, parseGrace(dto.grace));
  }
}
