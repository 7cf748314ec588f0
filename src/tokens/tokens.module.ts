import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import { PasswordHasher } from './password-hasher.js';
import { TokenCodec } from './token-codec.js';
import { TokenCache } from './token-cache.service.js';
import { TokenEventsService } from './token-events.service.js';
import { UsageTracker } from './usage-tracker.service.js';
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

@Module({
  imports: [AuditModule],
  controllers: [
    PublisherController,
    TtlTokensController,
    RotationController,
    TokenSwitchController,
    TokenTreeController,
  ],
  providers: [
    { provide: TokenCodec, inject: [APP_CONFIG], useFactory: (c: AppConfig) => new TokenCodec(c.KEYWARD_TOKEN_PREFIX) },
    PasswordHasher,
    TokensRepository,
    TokenCache,
    TokenEventsService,
    UsageTracker,
    TokenIssuer,
    PublisherService,
    RotationService,
    TtlTokensService,
    TokenSwitchService,
    TokenTreeService,
  ],
  exports: [TokenCodec, PasswordHasher, TokensRepository, TokenIssuer, TokenCache, TokenEventsService, UsageTracker],
})
export class TokensModule {}
