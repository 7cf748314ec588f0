import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { ForwardAuthController } from './forward-auth.controller.js';
import { ForwardAuthService } from './forward-auth.service.js';

/** `GET /v1/auth/check`: forward auth for gateways, over the one TokenVerifier. */
@Module({
  imports: [AuthModule],
  controllers: [ForwardAuthController],
  providers: [ForwardAuthService],
})
export class ForwardAuthModule {}
