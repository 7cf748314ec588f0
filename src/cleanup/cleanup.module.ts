import { ConfigModule } from '../config/config.module.js';
import { DatabaseModule } from '../database/database.module.js';
import { Module } from '@nestjs/common';
import { CleanupRepository } from './cleanup.repository.js';
import { CleanupService } from './cleanup.service.js';

/** The scheduled cleanup of expired, used single-use and long-revoked tokens. */
@Module({
  imports: [ConfigModule, DatabaseModule],
  providers: [CleanupRepository, CleanupService],
  exports: [CleanupService],
})
export class CleanupModule {}
