import { Body, Controller, HttpCode, Post, Req } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiBody,
  ApiOperation,
  ApiTags,
  ApiTooManyRequestsResponse,
} from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { Public } from '../access/access.decorators.js';
import { ErrorEnvelopeDto } from '../common/errors/error-envelope.dto.js';
import { LeakReportReceivedDto, RevokeLeakedTokensDto } from './dto/leaks.dto.js';
import { LeakedTokensService } from './leaked-tokens.service.js';

@ApiTags('leak reports')
@Controller('v1/tokens')
export class LeaksController {
  constructor(private readonly service: LeakedTokensService) {}

  @Post('revoke-leaked')
  @Public()
  @HttpCode(202)
  @ApiOperation({
    operationId: 'revokeLeakedTokens',
    summary: 'Report tokens found in a public place: the valid ones are revoked (no credential needed)',
    description:
      'Up to 100 token strings, as secret scanners report them (GitHub credential revocation style). Every ' +
      'one that is a Keyward token is revoked with every token created through it, recorded in the audit ' +
      'trail (`token.leaked`, with the reporter address and `source_url`) and announced to webhooks. The ' +
      'answer is the same whatever the strings were: it never says which were valid. Reports are limited per ' +
      'client address.',
  })
  @ApiBody({
    type: RevokeLeakedTokensDto,
    examples: {
      'a token found in a gist': {
        value: {
          tokens: ['kw_2aTk1mJ8xQ4hY7pLs9RvWc0dEfGhJkLmNpQrStUvWxYz0123456789abcdefghijkLmN4e2a1b'],
          source_url: 'https://gist.github.com/someone/0123456789abcdef',
        },
      },
    },
  })
  @ApiAcceptedResponse({
    type: LeakReportReceivedDto,
    description: 'Received; valid tokens among them are being revoked',
  })
  @ApiBadRequestResponse({
    description: 'No strings, more than 100, or a malformed source URL',
    type: ErrorEnvelopeDto,
  })
  @ApiTooManyRequestsResponse({ description: 'Too many reported strings from this address', type: ErrorEnvelopeDto })
  report(@Body() dto: RevokeLeakedTokensDto, @Req() request: FastifyRequest): Promise<LeakReportReceivedDto> {
    return this.service.report(dto, request.ip ?? null);
  }
}
