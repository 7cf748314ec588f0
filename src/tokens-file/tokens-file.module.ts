import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { AuthModule } from '../auth/auth.module.js';
import { TokensFileService } from './tokens-file.service.js';

/** Operator-managed tokens files, loaded at start and on SIGHUP. */
@Module({
  imports: [AuditModule, AuthModule],
  providers: [TokensFileService],
  exports: [TokensFileService],
})
export class TokensFileModule {}
