import { Controller, Get, Headers, Inject, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { createHash, timingSafeEqual } from 'node:crypto';
import { Public } from '../access/access.decorators.js';
import { ApiError } from '../common/api-error.js';
import { ErrorEnvelopeDto } from '../common/error-envelope.dto.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import { MetricsService } from './metrics.service.js';

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

@ApiTags('operations')
@Controller()
export class MetricsController {
  private readonly expected: Buffer | null;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly metrics: MetricsService,
  ) {
    this.expected = config.KEYWARD_METRICS_TOKEN ? digest(config.KEYWARD_METRICS_TOKEN) : null;
  }

  /**
   * Prometheus text format. Open unless KEYWARD_METRICS_TOKEN is set; then it needs
   * `Authorization: Bearer <that value>` (not an API token: scrapers hold no API rights).
   */
  @Get('metrics')
  @Public()
  @ApiOperation({
    operationId: 'metrics',
    summary: 'Prometheus metrics (open, or `Authorization: Bearer $KEYWARD_METRICS_TOKEN` when that is set)',
  })
  @ApiProduces('text/plain')
  @ApiOkResponse({ description: 'Prometheus text exposition format 0.0.4', schema: { type: 'string' } })
  @ApiUnauthorizedResponse({
    description: 'KEYWARD_METRICS_TOKEN is set and was not presented',
    type: ErrorEnvelopeDto,
  })
  async scrape(
    @Headers('authorization') authorization: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<string> {
    if (this.expected) {
      const presented = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? '')?.[1];
      if (!presented || !timingSafeEqual(digest(presented), this.expected)) throw ApiError.unauthenticated();
    }
    void reply.header('content-type', this.metrics.registry.contentType);
    return this.metrics.metrics();
  }
}
