import { DatabaseModule } from '../database/database.module.js';
import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { VerificationModule } from '../verification/verification.module.js';
import { ProjectsController } from './projects.controller.js';
import { ProjectsRepository } from './projects.repository.js';
import { ProjectsService } from './projects.service.js';

/** Projects (`/v1/projects`). Their Calyptia-style tokens live in the tokens feature. */
@Module({
  imports: [DatabaseModule, AuditModule, VerificationModule],
  controllers: [ProjectsController],
  providers: [ProjectsRepository, ProjectsService],
  exports: [ProjectsRepository, ProjectsService],
})
export class ProjectsModule {}
