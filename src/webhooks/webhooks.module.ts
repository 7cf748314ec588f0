import { ConfigModule } from '../config/config.module.js';
import { DatabaseModule } from '../database/database.module.js';
import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { WebhookDeliveryService } from './webhook-delivery.service.js';
import { WebhookEventsService } from './webhook-events.service.js';
import { WebhooksController } from './webhooks.controller.js';
import { WebhooksRepository } from './webhooks.repository.js';
import { WebhooksService } from './webhooks.service.js';

/**
 * Webhooks (`/v1/webhooks`): endpoints, the database delivery queue and its worker, and the token
 * events (heard from the audit trail, and the expiry scan). No other feature imports this one.
 */
@Module({
  imports: [ConfigModule, DatabaseModule, AuditModule],
  controllers: [WebhooksController],
  providers: [WebhooksRepository, WebhooksService, WebhookEventsService, WebhookDeliveryService],
  exports: [WebhookEventsService, WebhookDeliveryService, WebhooksRepository],
})
export class WebhooksModule {}
