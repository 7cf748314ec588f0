import { Module } from '@nestjs/common';
import { TokensFileService } from './tokens-file.service.js';

/** Operator-managed tokens files (seeds 000, 003, 004), loaded at start and on SIGHUP. */
@Module({
  providers: [TokensFileService],
  exports: [TokensFileService],
})
export class TokensFileModule {}
