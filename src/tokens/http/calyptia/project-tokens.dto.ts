import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsEnum,
  IsInt,
  IsNotEmpty,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
} from 'class-validator';
import { AppFieldsDto, AppFieldsViewDto } from '../app-fields.dto.js';
import { IsDateTime } from '../../../common/time.js';
import { ALL_PERMISSIONS, Permission } from '../../../access/permissions.js';

const PERMISSIONS_DOC = {
  enum: Permission,
  enumName: 'Permission',
  isArray: true,
  uniqueItems: true,
  example: [Permission.CreateAll],
} as const;

const PERMISSION_MESSAGE = `each value in permissions must be one of: ${ALL_PERMISSIONS.join(', ')}`;

export class CreateProjectTokenDto extends AppFieldsDto {
  @ApiProperty({ example: 'new-token', minLength: 1, maxLength: 200, description: 'Unique within the project' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name: string;

  @ApiProperty({
    ...PERMISSIONS_DOC,
    description:
      'Duplicates are ignored. `<action>:*` covers every resource of that action. An empty list means all ' +
      'permissions (as in Calyptia Cloud): it is stored as the four wildcards, which the caller must hold.',
  })
  @IsArray()
  @ArrayMaxSize(100)
  @IsEnum(Permission, { each: true, message: PERMISSION_MESSAGE })
  permissions: Permission[];

  @ApiPropertyOptional({
    example: '2030-12-31T23:59:59Z',
    format: 'date-time',
    type: String,
    nullable: true,
    description:
      "RFC 3339 time in the future. Omitted or null: the token never expires (or expires with the caller's own token).",
  })
  @IsOptional()
  @IsDateTime()
  expiresAt?: string | null;
}

/** Calyptia's UpdateToken: every field is nullable, and null (like absence) means "leave unchanged". */
export class UpdateProjectTokenDto extends AppFieldsDto {
  @ApiPropertyOptional({
    example: 'renamed-token',
    minLength: 1,
    maxLength: 200,
    type: String,
    nullable: true,
    description: 'New name; null or absent: unchanged',
  })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name?: string | null;

  @ApiPropertyOptional({
    ...PERMISSIONS_DOC,
    nullable: true,
    description:
      'Replaces the list; null or absent: unchanged. An empty list means all permissions: it is stored as ' +
      'the four wildcards, which the caller must hold.',
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  @IsEnum(Permission, { each: true, message: PERMISSION_MESSAGE })
  permissions?: Permission[] | null;

  @ApiPropertyOptional({
    example: false,
    type: Boolean,
    nullable: true,
    description:
      'Keyward extension. false: the token is refused (401) until enabled again, without being revoked. ' +
      "true: enabled again (the caller must hold the token's permissions). null or absent: unchanged.",
  })
  @IsOptional()
  @IsBoolean()
  enabled?: boolean | null;
}

export class ListProjectTokensQueryDto {
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 0,
    maximum: 2_147_483_647,
    description:
      'Only the last (newest) N tokens: the page size (default KEYWARD_DEFAULT_PAGE_SIZE, 500; above 1000 served ' +
      'as 1000). While more remain, a `Link` header names the next page.',
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(2_147_483_647)
  last?: number;

  @ApiPropertyOptional({
    description: 'Only tokens older than this cursor: the `before` of the previous answer\'s `Link: <…>; rel="next"`',
  })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  before?: string;

  @ApiPropertyOptional({ description: 'Only the token with exactly this name' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  name?: string;
}

export class ProjectTokenDto extends AppFieldsViewDto {
  @ApiProperty({ format: 'uuid', example: '123e4567-e89b-12d3-a456-426614174000' }) id: string;
  @ApiProperty({
    description: 'A non-secret display stub of the token (the secret is only in the create response)',
    example: 'kw_a1B2c3…',
  })
  token: string;
  @ApiProperty({ example: 'my-token' }) name: string;
  @ApiProperty({
    ...PERMISSIONS_DOC,
    description:
      'Calyptia names the four wildcards; the finer `<action>:token` and `<action>:project` values are a Keyward extension',
  })
  permissions: Permission[];
  @ApiProperty({ format: 'date-time', example: '2024-10-16T08:53:31.967Z' }) createdAt: string;
  @ApiProperty({ format: 'uuid', example: '123e4567-e89b-12d3-a456-426614174001', description: 'The project' })
  projectID: string;
  @ApiProperty({ example: true, description: 'Keyward extension: false while the token is disabled' })
  enabled: boolean;
  @ApiProperty({
    type: 'string',
    format: 'date-time',
    nullable: true,
    example: null,
    description: 'Keyward extension: when the token expires; null: never',
  })
  expiresAt: string | null;
}

export class ProjectTokenCreatedDto extends ProjectTokenDto {
  @ApiProperty({ description: 'The secret. Shown once, in this response only: store it securely.', example: 'kw_…' })
  declare token: string;
}
