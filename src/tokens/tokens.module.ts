import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { VerificationModule } from '../verification/verification.module.js';
import { RotationController } from './rotation.controller.js';
import { PublisherController } from './publisher.controller.js';
import { TtlTokensController } from './ttl-tokens.controller.js';
import { TtlTokensService } from './ttl-tokens.service.js';
import { TokensRepository } from './tokens.repository.js';
import { PublisherService } from './publisher.service.js';
import { RotationService } from './rotation.service.js';
import { TokenIssuer } from './token-issuer.js';
import { TokenSwitchController } from './token-switch.controller.js';
import { TokenSwitchService } from './token-switch.service.js';
import { TokenTreeController } from './token-tree.controller.js';
import { TokenTreeService } from './token-tree.service.js';
import { OwnerTokensController } from './owner-tokens.controller.js';
import { OwnerTokensService } from './owner-tokens.service.js';

@Module({
  imports: [AuditModule, VerificationModule],
  controllers: [
    PublisherController,
    TtlTokensController,
    RotationController,
    TokenSwitchController,
    TokenTreeController,
    OwnerTokensController,
  ],
  providers: [
    TokensRepository,
    TokenIssuer,
    PublisherService,
    RotationService,
    TtlTokensService,
    TokenSwitchService,
    TokenTreeService,
    OwnerTokensService,
  ],
  exports: [TokensRepository, TokenIssuer],
})
export class TokensModule {}
