import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayNotEmpty,
  IsArray,
  IsBoolean,
  IsEnum,
  IsIn,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
} from 'class-validator';
import { Permission } from '../../../access/permissions.js';
import { AppFieldsDto } from '../app-fields.dto.js';
import { ACCESS_LEVELS, type AccessLevel } from '../publisher/publisher.dto.js';

/** TTL tokens (`POST /auth/tokens`): short-lived and single-use tokens. */
export class CreateTtlTokenDto extends AppFieldsDto {
  @ApiProperty({
    example: '1h',
    description:
      'Lifetime: a number and a unit, e.g. `30s`, `15m`, `1h`, `7d` (at least 1s, at most KEYWARD_MAX_TOKEN_TTL)',
  })
  @IsString()
  @MaxLength(32)
  @Matches(
    /^\s*\d+(\.\d+)?\s*(ms|s|sec|secs|second|seconds|m|min|mins|minute|minutes|h|hr|hrs|hour|hours|d|day|days|w|week|weeks)\s*$/i,
    {
      message: 'ttl must be a duration like 30s, 15m, 1h or 7d',
    },
  )
  ttl: string;

  @ApiPropertyOptional({ default: false, description: 'Single-use: valid for exactly one successful authentication' })
  @IsOptional()
  @IsBoolean()
  remove_on_use?: boolean;

  @ApiPropertyOptional({ enum: ACCESS_LEVELS, description: "Narrow the access level (default: the caller's)" })
  @IsOptional()
  @IsIn(ACCESS_LEVELS, { message: 'access must be one of: read, write' })
  access?: AccessLevel;

  @ApiPropertyOptional({
    enum: Permission,
    isArray: true,
    description: "Narrow the permissions (default: the caller's)",
  })
  @IsOptional()
  @IsArray()
  @ArrayNotEmpty()
  @ArrayMaxSize(12)
  @IsEnum(Permission, {
    each: true,
    message: `each permission must be one of: ${Object.values(Permission).join(', ')}`,
  })
  permissions?: Permission[];

  @ApiPropertyOptional({ type: [String], description: 'Confine to these projects (ids or names)' })
  @IsOptional()
  @IsArray()
  @ArrayNotEmpty()
  @ArrayMaxSize(100)
  @IsString({ each: true })
  @MaxLength(200, { each: true })
  projects?: string[];

  @ApiPropertyOptional({ maxLength: 500 })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  description?: string;
}

export class TtlTokenCreatedDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ description: 'The secret. Shown once, in this response only.', example: 'kw_…' }) token: string;
  @ApiProperty({ format: 'date-time' }) expires_at: string;
  @ApiProperty() remove_on_use: boolean;
}
