import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsNotEmpty, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { IsSince } from '../../common/time.js';
import { AUDIT_ACTIONS, type AuditAction } from '../audit.actions.js';

export class ListAuditQueryDto {
  @ApiPropertyOptional({
    description:
      'Events by or about this credential: a token id, `admin`, `file:<name>` or `cli` (matches the actor or the target). ' +
      'Left empty (no example), Swagger UI lists every event.',
    maxLength: 200,
  })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  token_id?: string;

  @ApiPropertyOptional({ enum: AUDIT_ACTIONS, enumName: 'AuditAction', description: 'Only this action' })
  @IsOptional()
  @IsIn(AUDIT_ACTIONS, { message: `action must be one of: ${AUDIT_ACTIONS.join(', ')}` })
  action?: AuditAction;

  @ApiPropertyOptional({
    description: 'Only events at or after this time: an RFC 3339 date-time, or a duration back from now (`1h`, `7d`)',
    example: '1h',
    maxLength: 100,
  })
  @IsOptional()
  @IsSince()
  since?: string;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 1000, default: 100, description: 'Page size' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit?: number;

  @ApiPropertyOptional({ description: 'The `X-Next-Cursor` header of the previous page' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  cursor?: string;
}

export class AuditEventDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'date-time', description: 'When it happened (aggregates: the first attempt)' })
  time: string;
  @ApiProperty({ enum: AUDIT_ACTIONS }) action: AuditAction;
  @ApiProperty({
    description: 'Who: a token id, `admin`, `file:<name>`, `cli`, or `anonymous` for failed authentications',
    example: 'admin',
  })
  actor: string;
  @ApiProperty({
    type: String,
    nullable: true,
    description:
      'What `targetId` names: `token`, `project`, `tokens_file`, `credential`, or `lookup` (the non-secret lookup ' +
      'id of a token that was not recognised); null for events without a target',
    example: 'token',
  })
  targetType: string | null;
  @ApiProperty({ type: String, nullable: true }) targetId: string | null;
  @ApiProperty({ type: String, nullable: true, format: 'uuid', description: "The target's project, when one" })
  projectId: string | null;
  @ApiProperty({ type: String, nullable: true, example: '203.0.113.7' }) clientAddress: string | null;
  @ApiProperty({ type: String, nullable: true }) userAgent: string | null;
  @ApiProperty({ type: String, nullable: true, description: "The request's `X-Trace-Id`" }) traceId: string | null;
  @ApiProperty({
    description: '`success` or `failure`; for `auth.failed` the verdict (`NOT_FOUND`, `REVOKED`, `EXPIRED`, …)',
    example: 'success',
  })
  outcome: string;
  @ApiProperty({ type: 'integer', description: 'Attempts aggregated in this row (1 for single events)' })
  count: number;
  @ApiProperty({ type: String, nullable: true, format: 'date-time', description: 'Aggregates: the last attempt' })
  lastSeenAt: string | null;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    nullable: true,
    description: 'Facts about the action, e.g. `{"cascade": 2}` (descendants revoked with it), changed fields',
  })
  details: Record<string, unknown> | null;
}
