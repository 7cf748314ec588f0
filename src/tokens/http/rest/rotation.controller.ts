import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiBody, ApiOkResponse, ApiOperation } from '@nestjs/swagger';
import { Auth, Authenticated } from '../../../access/access.decorators.js';
import { Permission } from '../../../access/permissions.js';
import type { Principal } from '../../../access/principal.js';
import { RotationResponses } from '../rotation-responses.js';
import { UuidParam } from '../../../common/http/uuid-param.js';
import { RotatedTokenResponseDto, RotateTokenDto } from '../publisher/rotate.dto.js';
import { parseGrace, TokensService } from '../../tokens.service.js';
import { ConfirmsInvalidation } from '../../../verification/invalidation-confirmation.js';

/**
 * `POST /v1/tokens/{tokenID}/rotate`. Rotation: a new secret for the same token identity (id, lookup id, stub, rights, expiry). The old
 * secret keeps working for the optional grace period, then not; without one it stops at once.
 */
@RotationResponses()
@Controller()
export class RotationController {
  constructor(private readonly tokens: TokensService) {}

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
}
