import { DatabaseModule } from '../database/database.module.js';
import { Module } from '@nestjs/common';
import { AuditController } from './audit.controller.js';
import { AuditRepository } from './audit.repository.js';
import { AuditService } from './audit.service.js';

/**
 * The audit trail (`GET /v1/audit`). Depends only on the access vocabulary, common and the database:
 * the features that act (tokens, projects, tokens files, authentication) import it and call
 * `AuditService.record`, never the reverse.
 */
@Module({
  imports: [DatabaseModule],
  controllers: [AuditController],
  providers: [AuditRepository, AuditService],
  exports: [AuditService],
})
export class AuditModule {}
