import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiBadRequestResponse, ApiBody, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ErrorEnvelopeDto } from '../common/errors/error-envelope.dto.js';
import { Auth, Authenticated } from '../access/access.decorators.js';
import { Permission } from '../access/permissions.js';
import type { Principal } from '../access/principal.js';
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
  async verify(@Auth() caller: Principal, @Body() body: unknown): Promise<VerifyResultDto> {
    return this.service.verify(caller, parseVerifyBody(body));
  }
}
