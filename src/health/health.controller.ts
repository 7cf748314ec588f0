import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import { Authenticated, Public } from '../access/access.decorators.js';
import { Permission } from '../access/permissions.js';
import { DatabaseHealthIndicator } from './database.health.js';

class PingDto {
  @ApiProperty({ example: 'ok' }) status: string;
}

@ApiTags('health')
@Controller()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: DatabaseHealthIndicator,
  ) {}

  /** Liveness (the public ping route): no database round trip, no authentication. */
  @Get('api/v1/public/ping')
  @Public()
  @ApiOperation({ operationId: 'ping', summary: 'Liveness check (public)' })
  @ApiOkResponse({ type: PingDto })
  ping(): PingDto {
    return { status: 'ok' };
  }

  /** Readiness with the database checked, for a token that may read tokens. */
  @Get('v1/health')
  @Authenticated({ permission: Permission.ReadToken })
  @HealthCheck()
  @ApiOperation({ operationId: 'health', summary: 'Readiness: the database answers' })
  check(): Promise<HealthCheckResult> {
    return this.health.check([() => this.database.check('database')]);
  }
}
