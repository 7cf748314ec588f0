import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayNotEmpty,
  IsArray,
  IsEnum,
  IsInt,
  IsNotEmpty,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
  ValidateIf,
} from 'class-validator';
import { ALL_PERMISSIONS, Permission } from '../../access/permissions.js';

const PERMISSIONS_DOC = {
  enum: Permission,
  enumName: 'Permission',
  isArray: true,
  uniqueItems: true,
  example: [Permission.CreateAll],
} as const;

const PERMISSION_MESSAGE = `each value in permissions must be one of: ${ALL_PERMISSIONS.join(', ')}`;

export class CreateProjectTokenDto {
  @ApiProperty({ example: 'new-token', minLength: 1, maxLength: 200, description: 'Unique within the project' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name: string;

  @ApiProperty({
    ...PERMISSIONS_DOC,
    minItems: 1,
    description: 'Non-empty; duplicates are ignored. `<action>:*` covers every resource of that action.',
  })
  @IsArray()
  @ArrayNotEmpty()
  @ArrayMaxSize(100)
  @IsEnum(Permission, { each: true, message: PERMISSION_MESSAGE })
  permissions: Permission[];
}

export class UpdateProjectTokenDto {
  @ApiPropertyOptional({ example: 'renamed-token', minLength: 1, maxLength: 200 })
  @ValidateIf((_, v) => v !== undefined)
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name?: string;

  @ApiPropertyOptional({ ...PERMISSIONS_DOC, minItems: 1, description: 'Replaces the list; must not be empty' })
  @ValidateIf((_, v) => v !== undefined)
  @IsArray()
  @ArrayNotEmpty()
  @ArrayMaxSize(100)
  @IsEnum(Permission, { each: true, message: PERMISSION_MESSAGE })
  permissions?: Permission[];
}

export class ListProjectTokensQueryDto {
  @ApiPropertyOptional({ type: 'integer', minimum: 0, description: 'Only the last (newest) N tokens' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(2_147_483_647)
  last?: number;

  @ApiPropertyOptional({ description: 'Only the token with exactly this name' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  name?: string;
}

export class ProjectTokenDto {
  @ApiProperty({ format: 'uuid', example: '123e4567-e89b-12d3-a456-426614174000' }) id: string;
  @ApiProperty({
    description: 'A non-secret display stub of the token (the secret is only in the create response)',
    example: 'kw_a1B2c3…',
  })
  token: string;
  @ApiProperty({ example: 'my-token' }) name: string;
  @ApiProperty({ ...PERMISSIONS_DOC }) permissions: Permission[];
  @ApiProperty({ format: 'date-time', example: '2024-10-16T08:53:31.967Z' }) createdAt: string;
}

export class ProjectTokenCreatedDto extends ProjectTokenDto {
  @ApiProperty({ description: 'The secret. Shown once, in this response only: store it securely.', example: 'kw_…' })
  declare token: string;
}
