import { Controller, Get, HttpCode, ServiceUnavailableException } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import { Authenticated, Public } from '../access/access.decorators.js';
import { Permission } from '../access/permissions.js';
import { ApiError } from '../common/errors/api-error.js';
import { ErrorEnvelopeDto } from '../common/errors/error-envelope.dto.js';
import { DatabaseHealthIndicator } from './database.health.js';
import { ListenerHealthIndicator } from './listener.health.js';

class PingDto {
  @ApiProperty({ example: 'ok' }) status: string;
}

/** Terminus's health check result: each check under `info`/`error`, all of them under `details`. */
class HealthResultDto {
  @ApiProperty({ enum: ['ok', 'error', 'shutting_down'], example: 'ok' }) status: string;
  @ApiProperty({ type: 'object', additionalProperties: true, example: { database: { status: 'up' } } })
  info: Record<string, unknown>;
  @ApiProperty({ type: 'object', additionalProperties: true, example: {} }) error: Record<string, unknown>;
  @ApiProperty({ type: 'object', additionalProperties: true, example: { database: { status: 'up' } } })
  details: Record<string, unknown>;
}

@ApiTags('health')
@Controller()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: DatabaseHealthIndicator,
    private readonly listener: ListenerHealthIndicator,
  ) {}

  /** Liveness (the public ping route): no database round trip, no authentication. */
  @Get('api/v1/public/ping')
  @Public()
  @ApiOperation({
    operationId: 'ping',
    summary: 'Liveness check (public)',
    description: 'No authentication and no database round trip: answers as long as the process serves HTTP.',
  })
  @ApiOkResponse({ type: PingDto })
  ping(): PingDto {
    return { status: 'ok' };
  }

  /** Liveness probe: the process is up and its event loop answers. Never touches the database. */
  @Get('health/live')
  @Public()
  @HttpCode(200)
  @ApiOperation({
    operationId: 'healthLive',
    summary: 'Liveness probe (public): the process answers',
    description: 'Never touches the database: `{"status":"ok","info":{},"error":{},"details":{}}`.',
  })
  @ApiOkResponse({ description: 'Alive', type: HealthResultDto })
  live(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  /**
   * Readiness probe: the database answers, every migration is applied, and the token-change listener
   * is connected. 503 (in the error envelope, the failed checks in `data`) otherwise.
   */
  @Get('health/ready')
  @Public()
  @ApiOperation({
    operationId: 'healthReady',
    summary: 'Readiness probe (public): database reachable, migrations applied, change listener connected',
    description: 'For orchestrators: 200 when ready, 503 (the failed checks in `error.data`) when not.',
  })
  @ApiOkResponse({
    description:
      'Ready: `details` holds `database`, `migrations`, `listener` (`state`: `connected` on PostgreSQL, `embedded` on PGlite: in-process notices, no connection; `off` with the cache off)',
    type: HealthResultDto,
  })
  @ApiServiceUnavailableResponse({
    description: 'Not ready; `error.data` holds the checks',
    type: ErrorEnvelopeDto,
  })
  ready(): Promise<HealthCheckResult> {
    return this.readiness();
  }

  /** Readiness with the database checked, for a token that may read tokens (kept for existing callers). */
  @Get('v1/health')
  @Authenticated({ permission: Permission.ReadToken })
  @HealthCheck()
  @ApiOperation({
    operationId: 'health',
    summary: 'Readiness: the database answers',
    description: 'Any valid token may ask. 503 when the database does not answer.',
  })
  check(): Promise<HealthCheckResult> {
    return this.health.check([() => this.database.check('database')]);
  }

  private async readiness(): Promise<HealthCheckResult> {
    try {
      return await this.health.check([
        () => this.database.check('database'),
        () => this.database.checkMigrations('migrations'),
        () => this.listener.check('listener'),
      ]);
    } catch (err) {
      if (err instanceof ServiceUnavailableException) {
        const result = err.getResponse() as HealthCheckResult;
        throw new ApiError(503, 'service_unavailable', 'Not ready', { ...result });
      }
      throw err;
    }
  }
}
