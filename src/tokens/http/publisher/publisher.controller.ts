import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { Auth, Authenticated } from '../../../access/access.decorators.js';
import { Permission } from '../../../access/permissions.js';
import type { Principal } from '../../../access/principal.js';
import { ErrorEnvelopeDto } from '../../../common/errors/error-envelope.dto.js';
import {
  ApiTokenCreatedDto,
  ApiTokenListDto,
  CreateApiTokenDto,
  EXAMPLE_TOKEN_ID,
  ListApiTokensDto,
  RevokeApiTokenDto,
  RevokedApiTokenDto,
} from './publisher.dto.js';
import { PublisherService } from '../../publisher.service.js';
import { ConfirmsInvalidation } from '../../../verification/invalidation-confirmation.js';

const CREATE_EXAMPLE = { access: 'write', description: 'Production integration', expires_at: '2030-12-31T23:59:59Z' };
const LIST_EXAMPLE = {
  pagination: { limit: 100 },
  sorts: [{ key: 'created_at', direction: 'desc' }],
  filters: [{ key: 'status', operator: 'eq', value: 'active' }],
};

/** The Publisher-style RPC API, at `/publisher.v1/api-token/*` and `/api-token/*`. */
@ApiTags('api-token (Publisher RPC)')
@ApiBadRequestResponse({ description: 'Malformed JSON, unknown or invalid fields', type: ErrorEnvelopeDto })
@Controller(['publisher.v1/api-token', 'api-token'])
export class PublisherController {
  constructor(private readonly service: PublisherService) {}

  @Post('create')
  @HttpCode(200)
  @Authenticated({ permission: Permission.CreateToken })
  @ApiOperation({
    operationId: 'apiTokenCreate',
    summary: 'Create a token (the secret is returned once, here)',
    description:
      'The new token never has more rights than the caller, and never outlives an expiring caller ' +
      "(its `expires_at` is capped at the caller's).",
  })
  @ApiBody({ type: CreateApiTokenDto, examples: { 'write token': { value: CREATE_EXAMPLE } } })
  @ApiOkResponse({ type: ApiTokenCreatedDto })
  create(@Auth() caller: Principal, @Body() dto: CreateApiTokenDto): Promise<ApiTokenCreatedDto> {
    return this.service.create(caller, dto);
  }

  @Post('list')
  @HttpCode(200)
  @Authenticated({ permission: Permission.ReadToken })
  @ApiOperation({
    operationId: 'apiTokenList',
    summary: 'List tokens (never secrets), cursor-paginated',
    description:
      'Newest first by default. Pass `page.cursor` back as `pagination.cursor` while `page.more` is true. ' +
      'The body may be omitted (same as `{}`).',
  })
  @ApiBody({ type: ListApiTokensDto, required: false, examples: { 'active tokens': { value: LIST_EXAMPLE } } })
  @ApiOkResponse({ type: ApiTokenListDto })
  list(@Auth() caller: Principal, @Body() dto: ListApiTokensDto): Promise<ApiTokenListDto> {
    return this.service.list(caller, dto);
  }

  @Post('revoke')
  @ConfirmsInvalidation()
  @HttpCode(200)
  @Authenticated({ permission: Permission.DeleteToken })
  @ApiOperation({
    operationId: 'apiTokenRevoke',
    summary: 'Revoke a token and every token created through it, immediately and permanently',
    description: 'Put the `id` of a token (from `create` or `list`) in the body. The token gets 401 at once.',
  })
  @ApiBody({ type: RevokeApiTokenDto, examples: { 'a token': { value: { id: EXAMPLE_TOKEN_ID } } } })
  @ApiOkResponse({ type: RevokedApiTokenDto })
  @ApiNotFoundResponse({ description: 'No such token', type: ErrorEnvelopeDto })
  revoke(@Auth() caller: Principal, @Body() dto: RevokeApiTokenDto): Promise<RevokedApiTokenDto> {
    return this.service.revoke(caller, dto.id);
  }
}
