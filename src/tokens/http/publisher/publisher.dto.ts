import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsArray,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUUID,
  Max,
  MaxLength,
  MinLength,
  Min,
  ValidateNested,
  ArrayMaxSize,
} from 'class-validator';
import { AppFieldsDto, AppFieldsViewDto } from '../app-fields.dto.js';
import { IsDateTime } from '../../../common/time.js';
import { Permission } from '../../../access/permissions.js';

export const ACCESS_LEVELS = ['read', 'write'] as const;

/** The token id the examples share: the create answer's id is the one revoke and rotate take. */
export const EXAMPLE_TOKEN_ID = '0b9f2c1e-7d4a-4c3b-9e8f-1a2b3c4d5e6f';
export type AccessLevel = (typeof ACCESS_LEVELS)[number];

export class CreateApiTokenDto extends AppFieldsDto {
  @ApiProperty({ enum: ACCESS_LEVELS, example: 'write', description: '`read`: query and list; `write`: everything' })
  @IsIn(ACCESS_LEVELS, { message: 'access must be one of: read, write' })
  access: AccessLevel;

  @ApiPropertyOptional({ type: String, example: 'Production integration', maxLength: 500, nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  description?: string | null;

  @ApiPropertyOptional({
    type: String,
    example: '2030-12-31T23:59:59Z',
    format: 'date-time',
    nullable: true,
    description: 'RFC 3339 time in the future. Omitted: the token never expires (until revoked).',
  })
  @IsOptional()
  @IsDateTime({
    message: 'expires_at must be an RFC 3339 date-time (a real calendar date, seconds 0–59), e.g. 2030-12-31T23:59:59Z',
  })
  expires_at?: string | null;
}

export class PaginationDto {
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 1000, default: 500, example: 100 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1000)
  limit?: number;

  @ApiPropertyOptional({
    type: String,
    description: 'The `page.cursor` of the previous response (omit for the first page)',
  })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  cursor?: string;
}

export class SortDto {
  @ApiProperty({ enum: ['created_at'] })
  @IsIn(['created_at'])
  key: 'created_at';

  @ApiPropertyOptional({ enum: ['asc', 'desc'], default: 'desc' })
  @IsOptional()
  @IsIn(['asc', 'desc'])
  direction?: 'asc' | 'desc';
}

export const FILTER_KEYS = ['access', 'status', 'owner'] as const;

export class FilterDto {
  @ApiProperty({ enum: FILTER_KEYS, example: 'status' })
  @IsIn(FILTER_KEYS)
  key: (typeof FILTER_KEYS)[number];

  @ApiPropertyOptional({ enum: ['eq'], default: 'eq' })
  @IsOptional()
  @IsIn(['eq'])
  operator?: 'eq';

  @ApiProperty({
    description: 'access: read|write; status: active|expired|revoked; owner: the owner id',
    example: 'active',
    minLength: 1,
    maxLength: 200,
  })
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  value: string;
}

export class ListApiTokensDto {
  @ApiPropertyOptional({ type: PaginationDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => PaginationDto)
  pagination?: PaginationDto;

  @ApiPropertyOptional({ type: [SortDto] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(1)
  @ValidateNested({ each: true })
  @Type(() => SortDto)
  sorts?: SortDto[];

  @ApiPropertyOptional({ type: [FilterDto] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(10)
  @ValidateNested({ each: true })
  @Type(() => FilterDto)
  filters?: FilterDto[];
}

export class RevokeApiTokenDto {
  @ApiProperty({ format: 'uuid', example: EXAMPLE_TOKEN_ID, description: 'The `id` from `create` or `list`' })
  @IsUUID('all', { message: 'id must be a token id (UUID)' })
  id: string;
}

export class ApiTokenDto extends AppFieldsViewDto {
  @ApiProperty({ format: 'uuid', example: EXAMPLE_TOKEN_ID }) id: string;
  @ApiProperty({ enum: ACCESS_LEVELS, description: 'Derived from `permissions`' }) access: AccessLevel;
  @ApiProperty({ enum: Permission, isArray: true, description: 'The explicit permissions the token holds' })
  permissions: Permission[];
  @ApiProperty({ nullable: true, type: String }) description: string | null;
  @ApiProperty({ description: 'Non-secret display stub of the token', example: 'kw_a1B2c3…' })
  token_stub: string;
  @ApiProperty({ enum: ['active', 'expired', 'revoked', 'used'] }) status: string;
  @ApiProperty({ format: 'date-time' }) created_at: string;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) expires_at: string | null;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) revoked_at: string | null;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) last_used_at: string | null;
  @ApiProperty({ example: true, description: 'false while the token is disabled (refused, but not revoked)' })
  enabled: boolean;
}

export class RevokedApiTokenDto extends ApiTokenDto {
  @ApiProperty({
    description: 'How many tokens created through this one (recursively) were revoked with it',
    example: 0,
  })
  revoked_descendants: number;
}

export class ApiTokenCreatedDto {
  @ApiProperty({ format: 'uuid', example: EXAMPLE_TOKEN_ID }) id: string;
  @ApiProperty({ enum: ACCESS_LEVELS }) access: AccessLevel;
  @ApiProperty({ nullable: true, type: String }) description: string | null;
  @ApiProperty({
    description: 'The secret. Shown once, in this response only: store it securely.',
    example: 'kw_…',
  })
  token: string;
  @ApiProperty({ format: 'date-time' }) created_at: string;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) expires_at: string | null;
}

export class PageInfoDto {
  @ApiProperty({ type: 'integer' }) page_size: number;
  @ApiProperty({ nullable: true, type: String, description: 'Pass as pagination.cursor for the next page' })
  cursor: string | null;
  @ApiProperty() more: boolean;
}

export class ApiTokenListDto {
  @ApiProperty({ type: [ApiTokenDto] }) data: ApiTokenDto[];
  @ApiProperty({ type: PageInfoDto }) page: PageInfoDto;
}
