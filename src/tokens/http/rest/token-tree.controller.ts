import { Controller, Delete, HttpCode, Param } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiForbiddenResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { Auth, Authenticated } from '../../../access/access.decorators.js';
import { Permission } from '../../../access/permissions.js';
import type { Principal } from '../../../access/principal.js';
import { ErrorEnvelopeDto } from '../../../common/errors/error-envelope.dto.js';
import { RevokedTreeDto } from './token-tree.dto.js';
import { TokensService } from '../../tokens.service.js';
import { ConfirmsInvalidation } from '../../../verification/invalidation-confirmation.js';

/** `DELETE /v1/tokens-file/entries/{name}/tokens`: revoke every token a tokens-file entry created. */
@ApiTags('tokens file')
@Controller('v1/tokens-file/entries')
export class TokenTreeController {
  constructor(private readonly service: TokensService) {}

  @Delete(':name/tokens')
  @ConfirmsInvalidation()
  @HttpCode(200)
  @Authenticated({ permission: Permission.DeleteToken })
  @ApiOperation({
    operationId: 'revokeTokensFileEntryTokens',
    summary: 'Revoke every token a tokens-file entry created, and every token below them (admin token only)',
    description:
      'Tokens created through a tokens-file entry are bounded by it: disabling or removing the entry and ' +
      'reloading suspends them (DISABLED), narrowing it narrows them. This revokes them for good, whether ' +
      'or not the entry is still in the file.',
  })
  @ApiParam({
    name: 'name',
    description: 'The entry name (`tokens` key, API key `name`, or `master`)',
    example: 'ci-deploy',
  })
  @ApiOkResponse({ type: RevokedTreeDto })
  @ApiBadRequestResponse({ description: 'The entry name is not a well-formed URL segment', type: ErrorEnvelopeDto })
  @ApiForbiddenResponse({ description: 'Not the admin token', type: ErrorEnvelopeDto })
  revoke(@Auth() caller: Principal, @Param('name') name: string): Promise<RevokedTreeDto> {
    return this.service.revokeEntryTree(caller, name);
  }
}
