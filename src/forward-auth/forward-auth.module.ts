import { Module } from '@nestjs/common';
import { TokensModule } from '../tokens/tokens.module.js';
import { ForwardAuthController } from './forward-auth.controller.js';
import { ForwardAuthService } from './forward-auth.service.js';
import { VerifierAdapter } from './verifier-adapter.js';

/** `GET /v1/auth/check`: forward auth for gateways, over the one TokenVerifier. */
@Module({
  imports: [TokensModule],
  controllers: [ForwardAuthController],
  providers: [ForwardAuthService, VerifierAdapter],
})
export class ForwardAuthModule {}
