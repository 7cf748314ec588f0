import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { ProjectsModule } from '../projects/projects.module.js';
import { TokensModule } from '../tokens/tokens.module.js';
import { VerificationModule } from '../verification/verification.module.js';

/**
 * The modules the CLI drives, as the service wires them, without HTTP (an application context built
 * inside `withConfigAndDatabase`).
 */
@Module({ imports: [AuditModule, VerificationModule, TokensModule, ProjectsModule] })
export class CliModule {}
