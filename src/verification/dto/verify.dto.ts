import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsEnum, IsOptional, IsString, MaxLength, MinLength } from 'class-validator';
import { Permission } from '../../access/permissions.js';

export const VERDICT_CODES = ['VALID', 'NOT_FOUND', 'EXPIRED', 'REVOKED', 'DISABLED', 'FORBIDDEN', 'USED'] as const;
export type VerifyCode = (typeof VERDICT_CODES)[number];

export class VerifyTokenDto {
  @ApiProperty({ description: 'The token to check (any header style: just the value)', example: 'kw_…' })
  @IsString()
  @MinLength(1)
  @MaxLength(512)
  token: string;

  @ApiPropertyOptional({ description: 'Project id or name the token must be allowed on', example: 'my-project' })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  project?: string;

  @ApiPropertyOptional({ enum: Permission, description: 'Permission the token must hold' })
  @IsOptional()
  @IsEnum(Permission, { message: `permission must be one of: ${Object.values(Permission).join(', ')}` })
  permission?: Permission;
}

export class TokenFlagsDto {
  @ApiProperty() allow_overwrite: boolean;
  @ApiProperty() allow_delete: boolean;
  @ApiProperty() existing_projects_only: boolean;
}

export class VerifiedTokenDto {
  @ApiProperty({ description: 'Token id (UUID), or `admin` / `file:<name>` for configured tokens' }) id: string;
  @ApiProperty({ nullable: true, type: String }) name: string | null;
  @ApiProperty({ enum: ['read', 'write'] }) access: string;
  @ApiProperty({ enum: Permission, isArray: true }) permissions: string[];
  @ApiProperty({ type: [String], nullable: true, description: 'Projects it is confined to; null = every project' })
  projects: string[] | null;
  @ApiProperty({ type: TokenFlagsDto }) flags: TokenFlagsDto;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) expiresAt: string | null;
}

export class VerifyResultDto {
  @ApiProperty() valid: boolean;
  @ApiProperty({ enum: VERDICT_CODES }) code: VerifyCode;
  @ApiPropertyOptional({ type: VerifiedTokenDto, description: 'Absent when code is NOT_FOUND' })
  token?: VerifiedTokenDto;
}
