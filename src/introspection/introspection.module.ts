import { DatabaseModule } from '../database/database.module.js';
import { Module } from '@nestjs/common';
import { VerificationModule } from '../verification/verification.module.js';
import { IntrospectionController } from './introspection.controller.js';
import { IntrospectionRepository } from './introspection.repository.js';
import { IntrospectionService } from './introspection.service.js';

/** `POST /oauth2/introspect` (RFC 7662), answered by the verification engine. */
@Module({
  imports: [DatabaseModule, VerificationModule],
  controllers: [IntrospectionController],
  providers: [IntrospectionRepository, IntrospectionService],
})
export class IntrospectionModule {}
