import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiBadRequestResponse, ApiBody, ApiCreatedResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Auth, Authenticated } from '../../../access/access.decorators.js';
import { Permission } from '../../../access/permissions.js';
import type { Principal } from '../../../access/principal.js';
import { ErrorEnvelopeDto } from '../../../common/errors/error-envelope.dto.js';
import { CreateTtlTokenDto, TtlTokenCreatedDto } from './ttl-token.dto.js';
import { TtlTokensService } from '../../ttl-tokens.service.js';

/** TTL tokens: programmatic short-lived and single-use tokens. */
@ApiTags('auth tokens (TTL, single-use)')
@Controller('auth/tokens')
export class TtlTokensController {
  constructor(private readonly service: TtlTokensService) {}

  @Post()
  @HttpCode(201)
  @Authenticated({ permission: Permission.CreateToken })
  @ApiOperation({
    operationId: 'authTokenCreate',
    summary: 'Create a token with a TTL, optionally single-use',
    description:
      "By default the token has the caller's rights; `access`, `permissions`, `projects` narrow them. It never " +
      'outlives the caller. `remove_on_use: true` makes it succeed exactly once.',
  })
  @ApiBody({
    type: CreateTtlTokenDto,
    examples: { 'one hour': { value: { ttl: '1h', remove_on_use: false, description: 'CI job' } } },
  })
  @ApiCreatedResponse({ type: TtlTokenCreatedDto })
  @ApiBadRequestResponse({ description: 'Bad ttl, permissions or projects', type: ErrorEnvelopeDto })
  create(@Auth() caller: Principal, @Body() dto: CreateTtlTokenDto): Promise<TtlTokenCreatedDto> {
    return this.service.create(caller, dto);
  }
}
