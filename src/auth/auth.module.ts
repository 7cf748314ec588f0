import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { VerificationModule } from '../verification/verification.module.js';
import { AuthGuard } from './auth.guard.js';

/** The one global guard, over the verification engine. */
@Module({
  imports: [VerificationModule],
  providers: [{ provide: APP_GUARD, useClass: AuthGuard }],
})
export class AuthModule {}
