import { ConfigModule } from '../config/config.module.js';
import { DatabaseModule } from '../database/database.module.js';
import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { ProjectsModule } from '../projects/projects.module.js';
import { VerificationModule } from '../verification/verification.module.js';
import { ProjectTokensController } from './http/calyptia/project-tokens.controller.js';
import { ProjectTokensMapper } from './http/calyptia/project-tokens.mapper.js';
import { PublisherRotationController } from './http/publisher/publisher-rotation.controller.js';
import { PublisherController } from './http/publisher/publisher.controller.js';
import { TokenSwitchController } from './http/publisher/token-switch.controller.js';
import { OwnerTokensController } from './http/rest/owner-tokens.controller.js';
import { RotationController } from './http/rest/rotation.controller.js';
import { TokenTreeController } from './http/rest/token-tree.controller.js';
import { TtlTokensController } from './http/ttl/ttl-tokens.controller.js';
import { PublisherService } from './publisher.service.js';
import { TokenIssuer } from './token-issuer.js';
import { TokensRepository } from './tokens.repository.js';
import { TokensService } from './tokens.service.js';
import { TtlTokensService } from './ttl-tokens.service.js';

/**
 * Token management: storage, the services that hold its rules, and one folder of controllers and DTOs
 * per API style under `http/` (Publisher RPC, TTL, the `/v1/tokens` REST routes, Calyptia project tokens).
 */
@Module({
  imports: [ConfigModule, DatabaseModule, AuditModule, ProjectsModule, VerificationModule],
  controllers: [
    PublisherController,
    TtlTokensController,
    RotationController,
    PublisherRotationController,
    TokenSwitchController,
    TokenTreeController,
    OwnerTokensController,
    ProjectTokensController,
  ],
  providers: [TokensRepository, TokenIssuer, TokensService, PublisherService, TtlTokensService, ProjectTokensMapper],
  exports: [TokensRepository, TokenIssuer],
})
export class TokensModule {}
