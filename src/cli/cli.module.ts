import { type DynamicModule, Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { ConfigModule } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import { DatabaseModule } from '../database/database.module.js';
import type { DatabaseService } from '../database/database.service.js';
import { ProjectsModule } from '../projects/projects.module.js';
import { TokensModule } from '../tokens/tokens.module.js';
import { VerificationModule } from '../verification/verification.module.js';

/** The modules the CLI drives, as the service wires them, without HTTP (an application context). */
@Module({})
export class CliModule {
  static forRoot(config: AppConfig, database: DatabaseService): DynamicModule {
    return {
      module: CliModule,
      imports: [
        ConfigModule.forRoot(config),
        DatabaseModule.forRoot(database),
        AuditModule,
        VerificationModule,
        TokensModule,
        ProjectsModule,
      ],
    };
  }
}
