import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { Auth, Authenticated } from '../../../access/access.decorators.js';
import { Permission } from '../../../access/permissions.js';
import type { Principal } from '../../../access/principal.js';
import { ErrorEnvelopeDto } from '../../../common/errors/error-envelope.dto.js';
import { ApiTokenDto, RevokeApiTokenDto } from './publisher.dto.js';
import { PublisherService } from '../../publisher.service.js';
import { ConfirmsInvalidation } from '../../../verification/invalidation-confirmation.js';

/** Publisher-style `disable` / `enable`, at `/publisher.v1/api-token/*` and `/api-token/*`. */
@ApiTags('api-token (Publisher RPC)')
@ApiBadRequestResponse({ description: 'Malformed JSON, unknown or invalid fields', type: ErrorEnvelopeDto })
@Controller(['publisher.v1/api-token', 'api-token'])
export class TokenSwitchController {
  constructor(private readonly service: PublisherService) {}

  @Post('disable')
  @ConfirmsInvalidation()
  @HttpCode(200)
  @Authenticated({ permission: Permission.UpdateToken })
  @ApiOperation({
    operationId: 'apiTokenDisable',
    summary: 'Disable a token without revoking it: it gets 401 until enabled again',
  })
  @ApiOkResponse({ type: ApiTokenDto })
  @ApiNotFoundResponse({ description: 'No such token', type: ErrorEnvelopeDto })
  @ApiConflictResponse({ description: 'The token is revoked', type: ErrorEnvelopeDto })
  disable(@Auth() caller: Principal, @Body() dto: RevokeApiTokenDto): Promise<ApiTokenDto> {
    return this.service.setEnabled(caller, dto.id, false);
  }

  @Post('enable')
  @HttpCode(200)
  @Authenticated({ permission: Permission.UpdateToken })
  @ApiOperation({
    operationId: 'apiTokenEnable',
    summary: "Enable a disabled token again (the caller must be able to grant the token's rights)",
  })
  @ApiOkResponse({ type: ApiTokenDto })
  @ApiNotFoundResponse({ description: 'No such token', type: ErrorEnvelopeDto })
  @ApiConflictResponse({ description: 'The token is revoked', type: ErrorEnvelopeDto })
  enable(@Auth() caller: Principal, @Body() dto: RevokeApiTokenDto): Promise<ApiTokenDto> {
    return this.service.setEnabled(caller, dto.id, true);
  }
}
