import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Auth, Authenticated } from '../access/access.decorators.js';
import { Permission } from '../access/permissions.js';
import type { Principal } from '../access/principal.js';
import { VerifyResultDto, VerifyTokenDto } from './dto/verify.dto.js';
import { VerificationService } from './verification.service.js';
import { VerificationOutcomes } from '../auth/verification-outcomes.js';

@ApiTags('verification')
@Controller('v1/tokens')
export class VerificationController {
  constructor(
    private readonly service: VerificationService,
    private readonly outcomes: VerificationOutcomes,
  ) {}

  @Post('verify')
  @HttpCode(200)
  @Authenticated({ permission: Permission.ReadToken })
  @ApiOperation({
    operationId: 'tokenVerify',
    summary: 'Is this token valid (for this project and permission)? Always 200 with a verdict code',
  })
  @ApiOkResponse({ type: VerifyResultDto })
  async verify(@Auth() caller: Principal, @Body() dto: VerifyTokenDto): Promise<VerifyResultDto> {
    const result = await this.service.verify(caller, dto);
    this.outcomes.record('verify_api', result.code);
    return result;
  }
}
