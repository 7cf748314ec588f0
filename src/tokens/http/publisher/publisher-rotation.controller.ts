import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiBody, ApiOkResponse, ApiOperation } from '@nestjs/swagger';
import { Auth, Authenticated } from '../../../access/access.decorators.js';
import { Permission } from '../../../access/permissions.js';
import type { Principal } from '../../../access/principal.js';
import { RotationResponses } from '../rotation-responses.js';
import { ConfirmsInvalidation } from '../../../verification/invalidation-confirmation.js';
import { parseGrace, TokensService } from '../../tokens.service.js';
import { EXAMPLE_TOKEN_ID } from './publisher.dto.js';
import { RotateApiTokenDto, RotatedTokenResponseDto } from './rotate.dto.js';

/**
 * Publisher-style rotation, at `/publisher.v1/api-token/rotate` and `/api-token/rotate`: the same rules
 * as `POST /v1/tokens/{tokenID}/rotate`, for global tokens, with the id in the body.
 */
@RotationResponses()
@Controller()
export class PublisherRotationController {
  constructor(private readonly tokens: TokensService) {}

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
