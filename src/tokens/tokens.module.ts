import { Module } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import { PasswordHasher } from './password-hasher.js';
import { TokenCodec } from './token-codec.js';
import { TokenCache } from './token-cache.service.js';
import { TokenEventsService } from './token-events.service.js';
import { UsageTracker } from './usage-tracker.service.js';
import { RotationController } from './rotation.controller.js';
import { TokensController } from './tokens.controller.js';
import { TtlTokensController } from './ttl-tokens.controller.js';
import { TtlTokensService } from './ttl-tokens.service.js';
import { TokensRepository } from './tokens.repository.js';
import { TokenIssuer, TokensService } from './tokens.service.js';

@Module({
  controllers: [TokensController, TtlTokensController, RotationController],
  providers: [
    { provide: TokenCodec, inject: [APP_CONFIG], useFactory: (c: AppConfig) => new TokenCodec(c.KEYWARD_TOKEN_PREFIX) },
    PasswordHasher,
    TokensRepository,
    TokenCache,
    TokenEventsService,
    UsageTracker,
    TokenIssuer,
    TokensService,
    TtlTokensService,
  ],
  exports: [TokenCodec, PasswordHasher, TokensRepository, TokenIssuer, TokenCache, UsageTracker],
})
export class TokensModule {}
