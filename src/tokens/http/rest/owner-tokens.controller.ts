import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiBadRequestResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Auth, Authenticated } from '../../../access/access.decorators.js';
import { Permission } from '../../../access/permissions.js';
import type { Principal } from '../../../access/principal.js';
import { ErrorEnvelopeDto } from '../../../common/errors/error-envelope.dto.js';
import { OwnerActionDto, OwnerActionResultDto } from './owner.dto.js';
import { TokensService } from '../../tokens.service.js';
import { ConfirmsInvalidation } from '../../../verification/invalidation-confirmation.js';

/** Every token of one owner (the `owner` given at create or update) in one call. */
@ApiTags('tokens by owner')
@ApiBadRequestResponse({ description: 'Malformed JSON, unknown or invalid fields', type: ErrorEnvelopeDto })
@Controller('v1/tokens')
export class OwnerTokensController {
  constructor(private readonly service: TokensService) {}

  @Post('revoke-by-owner')
  @ConfirmsInvalidation()
  @HttpCode(200)
  @Authenticated({ permission: Permission.DeleteToken })
  @ApiOperation({
    operationId: 'revokeTokensByOwner',
    summary: 'Revoke every live token of an owner (each with the tokens created through it), each audited',
  })
  @ApiOkResponse({ type: OwnerActionResultDto })
  revoke(@Auth() caller: Principal, @Body() dto: OwnerActionDto): Promise<OwnerActionResultDto> {
    return this.service.revokeByOwner(caller, dto.owner);
  }

  @Post('disable-by-owner')
  @ConfirmsInvalidation()
  @HttpCode(200)
  @Authenticated({ permission: Permission.UpdateToken })
  @ApiOperation({
    operationId: 'disableTokensByOwner',
    summary: 'Disable every live token of an owner (401 until enabled again), each audited',
  })
  @ApiOkResponse({ type: OwnerActionResultDto })
  disable(@Auth() caller: Principal, @Body() dto: OwnerActionDto): Promise<OwnerActionResultDto> {
    return this.service.disableByOwner(caller, dto.owner);
  }
}
