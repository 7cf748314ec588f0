import { ConfigModule } from '../config/config.module.js';
import { DatabaseModule } from '../database/database.module.js';
import { Module } from '@nestjs/common';
import { VerificationModule } from '../verification/verification.module.js';
import { CleanupModule } from '../cleanup/cleanup.module.js';
import { LeaksModule } from '../leaks/leaks.module.js';
import { WebhooksModule } from '../webhooks/webhooks.module.js';
import { MetricsController } from './metrics.controller.js';
import { MetricsService } from './metrics.service.js';

/** Prometheus `/metrics`: reads the numbers other features keep; no feature imports this one. */
@Module({
  imports: [ConfigModule, DatabaseModule, VerificationModule, CleanupModule, WebhooksModule, LeaksModule],
  controllers: [MetricsController],
  providers: [MetricsService],
  exports: [MetricsService],
})
export class MetricsModule {}
