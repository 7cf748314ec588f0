import { DatabaseModule } from '../database/database.module.js';
import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { VerificationModule } from '../verification/verification.module.js';
import { DatabaseHealthIndicator } from './database.health.js';
import { HealthController } from './health.controller.js';
import { ListenerHealthIndicator } from './listener.health.js';

@Module({
  imports: [DatabaseModule, TerminusModule.forRoot({ logger: false }), VerificationModule],
  controllers: [HealthController],
  providers: [DatabaseHealthIndicator, ListenerHealthIndicator],
})
export class HealthModule {}
