import { Inject, Logger, Module, type OnApplicationBootstrap } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import { AuditModule } from '../audit/audit.module.js';
import { TokensModule } from '../tokens/tokens.module.js';
import { AuthGuard } from './auth.guard.js';
import { TokenVerifier } from './token-verifier.js';
import { permissionsForAccess } from '../access/permissions.js';
import { principal } from '../access/principal.js';
import { StaticCredentials } from './static-credentials.js';
import { VerificationOutcomes } from './verification-outcomes.js';
import { AuthThrottle } from './auth-throttle.js';

@Module({
  imports: [AuditModule, TokensModule],
  providers: [
    AuthThrottle,
    StaticCredentials,
    TokenVerifier,
    VerificationOutcomes,
    { provide: APP_GUARD, useClass: AuthGuard },
  ],
  exports: [AuthThrottle, StaticCredentials, TokenVerifier, VerificationOutcomes],
})
export class AuthModule implements OnApplicationBootstrap {
  private readonly logger = new Logger('Auth');

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly statics: StaticCredentials,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const admin = this.config.KEYWARD_ADMIN_TOKEN;
    if (admin) {
      // Kept only as an HMAC in memory; the variable's value is never logged or stored.
      this.statics.replace('admin', [
        {
          origin: 'KEYWARD_ADMIN_TOKEN',
          enabled: true,
          mac: this.statics.mac(admin),
          projectRefs: null,
          principal: principal({
            source: 'admin',
            id: 'admin',
            name: 'admin',
            kind: 'global',
            permissions: permissionsForAccess('write'),
            projects: null,
            expiresAt: null,
            singleUse: false,
            parentId: null,
          }),
        },
      ]);
      this.logger.log('bootstrap admin token configured (KEYWARD_ADMIN_TOKEN)');
    }
  }
}
