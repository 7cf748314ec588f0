import { Body, Controller, Header, HttpCode, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiConsumes,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnsupportedMediaTypeResponse,
} from '@nestjs/swagger';
import { Auth, Authenticated } from '../access/access.decorators.js';
import { Permission } from '../access/permissions.js';
import type { Principal } from '../access/principal.js';
import { ErrorEnvelopeDto } from '../common/errors/error-envelope.dto.js';
import { IntrospectionDto, IntrospectTokenDto } from './dto/introspection.dto.js';
import { IntrospectionService } from './introspection.service.js';

/** The one route whose body is form-encoded (the rest of the API takes JSON only). */
export const INTROSPECTION_PATH = '/oauth2/introspect';

@ApiTags('oauth2')
@Controller('oauth2')
export class IntrospectionController {
  constructor(private readonly service: IntrospectionService) {}

  @Post('introspect')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @Authenticated({ permission: Permission.ReadToken })
  @ApiOperation({
    operationId: 'introspectToken',
    summary: 'OAuth 2.0 token introspection (RFC 7662)',
    description:
      'For gateways and OAuth libraries: `token=<the token>` as `application/x-www-form-urlencoded`; the ' +
      'caller presents its own Keyward token holding `read:token`. An active token is described by ' +
      '`active`, `scope`, `client_id`, `sub`, `exp`, `iat`, `token_type`; anything else (unknown, expired, ' +
      'revoked, disabled, used, outside the caller\'s projects) is `{"active": false}` and nothing more.',
  })
  @ApiConsumes('application/x-www-form-urlencoded', 'application/json')
  @ApiBody({ type: IntrospectTokenDto })
  @ApiOkResponse({
    type: IntrospectionDto,
    headers: { 'Cache-Control': { description: 'no-store', schema: { type: 'string' } } },
  })
  @ApiBadRequestResponse({ description: 'No `token` parameter, or a parameter given twice', type: ErrorEnvelopeDto })
  @ApiUnsupportedMediaTypeResponse({
    description: 'A body neither form-encoded (`application/x-www-form-urlencoded`) nor JSON',
    type: ErrorEnvelopeDto,
  })
  introspect(@Auth() caller: Principal, @Body() dto: IntrospectTokenDto): Promise<IntrospectionDto> {
    return this.service.introspect(caller, dto);
  }
}
