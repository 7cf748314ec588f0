import { type DynamicModule, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { ScheduleModule } from '@nestjs/schedule';
import { AuditModule } from './audit/audit.module.js';
import { AuthModule } from './auth/auth.module.js';
import { CleanupModule } from './cleanup/cleanup.module.js';
import { loggerParams } from './common/logging.js';
import { ConfigModule } from './config/config.module.js';
import type { AppConfig } from './config/config.schema.js';
import { DatabaseModule } from './database/database.module.js';
import type { DatabaseService } from './database/database.service.js';
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
  static forRoot(config: AppConfig, logger: Logger, database?: DatabaseService): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggerModule.forRoot(loggerParams(logger)),
        DatabaseModule.forRoot(database),
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
