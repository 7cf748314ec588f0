import { DatabaseModule } from '../database/database.module.js';
import { Inject, Logger, Module, type OnApplicationBootstrap } from '@nestjs/common';
import { UsageLimits } from './usage-limits.js';
import { UsageRepository } from './usage.repository.js';
import { fullAccessPrincipal } from '../access/principal.js';
import { AuditModule } from '../audit/audit.module.js';
import { APP_CONFIG, ConfigModule } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import { AuthThrottle } from './auth-throttle.js';
import { ForwardAuthController } from './forward-auth.controller.js';
import { ForwardAuthService } from './forward-auth.service.js';
import { PasswordHasher } from './password-hasher.js';
import { SecretMatches } from './secret-matches.js';
import { StaticCredentials } from './static-credentials.js';
import { TokenCache } from './token-cache.service.js';
import { TokenCodec } from './token-codec.js';
import { TokenEventsService } from './token-events.service.js';
import { TokenVerifier } from './token-verifier.js';
import { TokensFileService } from './tokens-file/tokens-file.service.js';
import { UsageTracker } from './usage-tracker.service.js';
import { VerificationController } from './verification.controller.js';
import { VerificationOutcomes } from './verification-outcomes.js';
import { VerificationRepository } from './verification.repository.js';
import { VerificationService } from './verification.service.js';

/** What the engine offers the other modules (besides TokenCodec, built from the configuration). */
const EXPORTED = [
  PasswordHasher,
  SecretMatches,
  TokenCache,
  TokenEventsService,
  VerificationRepository,
  UsageTracker,
  AuthThrottle,
  StaticCredentials,
  TokensFileService,
  TokenVerifier,
  VerificationOutcomes,
];

/**
 * The verification engine: everything that turns a presented credential into a verdict (codec, hasher,
 * cache and its change listener, throttle, tokens-file and admin credentials, usage tracking, verdict
 * counts), plus the routes that expose verdicts: `POST /v1/tokens/verify` and `GET /v1/auth/check`.
 * Features (tokens, projects) import it for issuing and invalidation; it imports none of them.
 */
@Module({
  imports: [ConfigModule, DatabaseModule, AuditModule],
  controllers: [VerificationController, ForwardAuthController],
  providers: [
    { provide: TokenCodec, inject: [APP_CONFIG], useFactory: (c: AppConfig) => new TokenCodec(c.KEYWARD_TOKEN_PREFIX) },
    ...EXPORTED,
    UsageRepository,
    UsageLimits,
    VerificationService,
    ForwardAuthService,
  ],
  exports: [TokenCodec, ...EXPORTED],
})
export class VerificationModule implements OnApplicationBootstrap {
  private readonly logger = new Logger('Auth');

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly statics: StaticCredentials,
    private readonly tokens: VerificationRepository,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const admin = this.config.KEYWARD_ADMIN_TOKEN;
    if (admin) {
      // Kept only as a keyed digest in memory; the variable's value is never logged or stored.
      this.statics.replace('admin', [
        {
          origin: 'KEYWARD_ADMIN_TOKEN',
          enabled: true,
          mac: this.statics.mac(admin),
          projectRefs: null,
          principal: fullAccessPrincipal('admin', 'admin', 'admin'),
        },
      ]);
      this.logger.log('bootstrap admin token configured (KEYWARD_ADMIN_TOKEN)');
    }
  }
}
