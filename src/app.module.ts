import { type DynamicModule, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { ScheduleModule } from '@nestjs/schedule';
import { AuditModule } from './audit/audit.module.js';
import { AuthModule } from './auth/auth.module.js';
import { CleanupModule } from './cleanup/cleanup.module.js';
import { loggerParams } from './common/logging.js';
import { MetricsModule } from './metrics/metrics.module.js';
import type { Logger } from 'pino';
import { HealthModule } from './health/health.module.js';
import { ProjectsModule } from './projects/projects.module.js';
import { TokensModule } from './tokens/tokens.module.js';
import { VerificationModule } from './verification/verification.module.js';
import { WebhooksModule } from './webhooks/webhooks.module.js';
import { LeaksModule } from './leaks/leaks.module.js';
import { IntrospectionModule } from './introspection/introspection.module.js';

@Module({})
export class AppModule {
  static forRoot(logger: Logger): DynamicModule {
    return {
      module: AppModule,
      imports: [
        LoggerModule.forRoot(loggerParams(logger)),
        AuditModule,
        AuthModule,
        TokensModule,
        ProjectsModule,
        VerificationModule,
        HealthModule,
        ScheduleModule.forRoot(),
        CleanupModule,
        MetricsModule,
        WebhooksModule,
        LeaksModule,
        IntrospectionModule,
      ],
    };
  }
}
