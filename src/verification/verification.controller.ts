import { Controller, Header, HttpCode, Post, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ApiBadRequestResponse, ApiBody, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ErrorEnvelopeDto } from '../common/errors/error-envelope.dto.js';
import { Authenticated } from '../access/access.decorators.js';
import { Permission } from '../access/permissions.js';
import { parseVerifyBody, VerifyResultDto, VerifyTokenDto } from './dto/verify.dto.js';
import { VerificationService } from './verification.service.js';

@ApiTags('verification')
@Controller('v1/tokens')
export class VerificationController {
  constructor(private readonly service: VerificationService) {}

  @Post('verify')
  @HttpCode(200)
  @Authenticated({ permission: Permission.ReadToken })
  @ApiOperation({
    operationId: 'tokenVerify',
    summary: 'Is this token valid (for this project and permission)? Always 200 with a verdict code',
    description:
      'The verdict `code` is VALID, NOT_FOUND, EXPIRED, REVOKED, DISABLED, FORBIDDEN or USED. A caller confined ' +
      'to projects sees only tokens within them (others are NOT_FOUND). Verifying a single-use token consumes it.',
  })
  @ApiBody({
    type: VerifyTokenDto,
    examples: {
      'a token for a project': { value: { token: 'kw_…', project: 'my-project', permission: 'read:token' } },
    },
  })
  @ApiBadRequestResponse({ description: 'Malformed JSON, unknown or invalid fields', type: ErrorEnvelopeDto })
  @ApiOkResponse({ type: VerifyResultDto })
  // The service answers the VerifyResultDto already serialized (the token part once per cached token).
  @Header('content-type', 'application/json; charset=utf-8')
  async verify(@Req() request: FastifyRequest): Promise<string> {
    // The caller (set by the guard) and the body are read from the request rather than through @Auth()
    // and @Body(): on this hot path Nest would run the three global pipes on each of those parameters
    // (six awaited transforms), none of which applies to a body that parseVerifyBody checks by hand.
    return this.service.verify(request.principal!, parseVerifyBody(request.body));
  }
}
