import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiBadRequestResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Auth, Authenticated } from '../access/access.decorators.js';
import { Permission } from '../access/permissions.js';
import type { Principal } from '../access/principal.js';
import { ErrorEnvelopeDto } from '../common/error-envelope.dto.js';
import {
  ApiTokenCreatedDto,
  ApiTokenListDto,
  CreateApiTokenDto,
  ListApiTokensDto,
  RevokeApiTokenDto,
  RevokedApiTokenDto,
} from './dto/publisher.dto.js';
import { PublisherService } from './publisher.service.js';

/** The Publisher-style RPC API, at `/publisher.v1/api-token/*` and `/api-token/*`. */
@ApiTags('api-token (Publisher RPC)')
@ApiBadRequestResponse({ description: 'Malformed JSON, unknown or invalid fields', type: ErrorEnvelopeDto })
@Controller(['publisher.v1/api-token', 'api-token'])
export class PublisherController {
  constructor(private readonly service: PublisherService) {}

  @Post('create')
  @HttpCode(200)
  @Authenticated({ permission: Permission.CreateToken })
  @ApiOperation({ operationId: 'apiTokenCreate', summary: 'Create a token (the secret is returned once, here)' })
  @ApiOkResponse({ type: ApiTokenCreatedDto })
  create(@Auth() caller: Principal, @Body() dto: CreateApiTokenDto): Promise<ApiTokenCreatedDto> {
    return this.service.create(caller, dto);
  }

  @Post('list')
  @HttpCode(200)
  @Authenticated({ permission: Permission.ReadToken })
  @ApiOperation({ operationId: 'apiTokenList', summary: 'List tokens (never secrets), cursor-paginated' })
  @ApiOkResponse({ type: ApiTokenListDto })
  list(@Auth() caller: Principal, @Body() dto: ListApiTokensDto): Promise<ApiTokenListDto> {
    return this.service.list(caller, dto);
  }

  @Post('revoke')
  @HttpCode(200)
  @Authenticated({ permission: Permission.DeleteToken })
  @ApiOperation({
    operationId: 'apiTokenRevoke',
    summary: 'Revoke a token and every token created through it, immediately and permanently',
  })
  @ApiOkResponse({ type: RevokedApiTokenDto })
  @ApiNotFoundResponse({ description: 'No such token', type: ErrorEnvelopeDto })
  revoke(@Auth() caller: Principal, @Body() dto: RevokeApiTokenDto): Promise<RevokedApiTokenDto> {
    return this.service.revoke(caller, dto.id);
  }
}
