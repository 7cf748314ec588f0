import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { TokensFileService } from './tokens-file.service.js';

/** Operator-managed tokens files (seeds 000, 003, 004), loaded at start and on SIGHUP. */
@Module({
  imports: [AuditModule],
  providers: [TokensFileService],
  exports: [TokensFileService],
})
export class TokensFileModule {}
