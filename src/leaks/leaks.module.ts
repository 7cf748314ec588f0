import { ConfigModule } from '../config/config.module.js';
import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { TokensModule } from '../tokens/tokens.module.js';
import { VerificationModule } from '../verification/verification.module.js';
import { LeakedTokensService } from './leaked-tokens.service.js';
import { LeaksController } from './leaks.controller.js';

/** `POST /v1/tokens/revoke-leaked`: reported tokens checked by the verification engine, revoked with their tree. */
@Module({
  imports: [ConfigModule, AuditModule, TokensModule, VerificationModule],
  controllers: [LeaksController],
  providers: [LeakedTokensService],
  exports: [LeakedTokensService],
})
export class LeaksModule {}
