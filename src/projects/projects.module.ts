import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { TokensModule } from '../tokens/tokens.module.js';
import { VerificationModule } from '../verification/verification.module.js';
import { ProjectTokensController } from './project-tokens.controller.js';
import { ProjectTokensService } from './project-tokens.service.js';
import { ProjectsController } from './projects.controller.js';
import { ProjectsRepository } from './projects.repository.js';
import { ProjectsService } from './projects.service.js';

/** Projects and their Calyptia-style tokens (`/v1/projects`, `/v1/project_tokens`). */
@Module({
  imports: [AuditModule, TokensModule, VerificationModule],
  controllers: [ProjectsController, ProjectTokensController],
  providers: [ProjectsRepository, ProjectsService, ProjectTokensService],
  exports: [ProjectsRepository, ProjectsService],
})
export class ProjectsModule {}
