import { Controller, Get, Inject, Req, Res } from '@nestjs/common';
import {
  ApiForbiddenResponse,
  ApiOkResponse,
  ApiOperation,
  ApiSecurity,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { createHash, timingSafeEqual } from 'node:crypto';
import { Public, SECURITY_SCHEMES } from '../access/access.decorators.js';
import { Permission } from '../access/permissions.js';
import { ErrorEnvelopeDto } from '../common/errors/error-envelope.dto.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import { presentedToken } from '../verification/credentials.js';
import { TokenVerifier } from '../verification/token-verifier.js';
import { MetricsService } from './metrics.service.js';

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

@ApiTags('operations')
@Controller()
export class MetricsController {
  private readonly scraperToken: Buffer | null;
  private readonly open: boolean;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly metrics: MetricsService,
    private readonly verifier: TokenVerifier,
  ) {
    this.scraperToken = config.KEYWARD_METRICS_TOKEN ? digest(config.KEYWARD_METRICS_TOKEN) : null;
    this.open = config.KEYWARD_METRICS_PUBLIC;
  }

  /**
   * Prometheus text format. Needs a token: KEYWARD_METRICS_TOKEN (a scraper's secret), or an API token
   * holding `read:metrics` (`read:*` and the admin token hold it), checked by the verification engine
   * like any route; open to anyone only with KEYWARD_METRICS_PUBLIC=true.
   */
  @Get('metrics')
  @Public()
  @ApiOperation({
    operationId: 'metrics',
    summary: 'Prometheus metrics (needs `read:metrics`, or `Authorization: Bearer $KEYWARD_METRICS_TOKEN`)',
    description:
      'Prometheus text format. Needs a token: the value of KEYWARD_METRICS_TOKEN as a bearer token, or an API ' +
      'token holding `read:metrics` (`read:*` and the admin token hold it). KEYWARD_METRICS_PUBLIC=true opens ' +
      'it to anyone who reaches the port.',
  })
  @ApiOkResponse({
    description: 'Prometheus text exposition format 0.0.4',
    content: { 'text/plain': { schema: { type: 'string' } } },
  })
  @ApiUnauthorizedResponse({ description: 'Missing, invalid, expired or revoked token', type: ErrorEnvelopeDto })
  @ApiForbiddenResponse({ description: 'A valid token without `read:metrics`', type: ErrorEnvelopeDto })
  @ApiTooManyRequestsResponse({ description: 'Rate limited', type: ErrorEnvelopeDto })
  @ApiSecurity(SECURITY_SCHEMES[0])
  @ApiSecurity(SECURITY_SCHEMES[1])
  @ApiSecurity(SECURITY_SCHEMES[2])
  @ApiSecurity(SECURITY_SCHEMES[3])
  async scrape(@Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    if (!this.open) {
      const presented = presentedToken(request);
      const scraper = this.scraperToken && presented && timingSafeEqual(digest(presented), this.scraperToken);
      if (!scraper) {
        const verification = await this.verifier.check({
          credential: presented,
          via: 'auth',
          clientAddress: request.ip,
          permission: Permission.ReadMetrics,
          consume: true,
        });
        if (verification.error) throw verification.error;
        request.principal = verification.principal;
      }
    }
    void reply.header('content-type', this.metrics.registry.contentType);
    return this.metrics.metrics();
  }
}
