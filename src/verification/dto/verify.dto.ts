import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { isPermission, Permission } from '../../access/permissions.js';
import { ApiError } from '../../common/api-error.js';
import { validationFailed } from '../../common/validation.js';

export const VERDICT_CODES = ['VALID', 'NOT_FOUND', 'EXPIRED', 'REVOKED', 'DISABLED', 'FORBIDDEN', 'USED'] as const;
export type VerifyCode = (typeof VERDICT_CODES)[number];

const TOKEN_MAX = 512;
const PROJECT_MAX = 200;

/** The verify body. Checked by `parseVerifyBody` (by hand: this is the hot path), not class-validator. */
export class VerifyTokenDto {
  @ApiProperty({
    description: 'The token to check (any header style: just the value)',
    example: 'kw_…',
    minLength: 1,
    maxLength: TOKEN_MAX,
  })
  token: string;

  @ApiPropertyOptional({
    description: 'Project id or name the token must be allowed on',
    example: 'my-project',
    minLength: 1,
    maxLength: PROJECT_MAX,
  })
  project?: string;

  @ApiPropertyOptional({ enum: Permission, description: 'Permission the token must hold' })
  permission?: Permission;
}

const PERMISSION_MESSAGE = [`permission must be one of: ${Object.values(Permission).join(', ')}`];

/** class-validator's messages for `@IsString() @MinLength(1) @MaxLength(max)`, in its order. */
function stringProblems(field: string, value: unknown, max: number): string[] | null {
  if (typeof value !== 'string') {
    return [
      `${field} must be shorter than or equal to ${max} characters`,
      `${field} must be longer than or equal to 1 characters`,
      `${field} must be a string`,
    ];
  }
  if (value.length < 1) return [`${field} must be longer than or equal to 1 characters`];
  if (value.length > max) return [`${field} must be shorter than or equal to ${max} characters`];
  return null;
}

/**
 * Validates a verify body with exactly the 400s the global ValidationPipe gave for the DTO (unknown
 * fields, types, lengths, the permission enum; `null` optional fields count as absent), at a fraction of
 * its cost. The common case (a valid body) allocates nothing but the result.
 */
export function parseVerifyBody(body: unknown): VerifyTokenDto {
  if (body === undefined || body === null || body === '') body = {};
  if (typeof body !== 'object' || Array.isArray(body)) throw ApiError.badRequest('Request body must be a JSON object');
  const b = body as Record<string, unknown>;
  const { token, project, permission } = b;
  let fields: Record<string, string[]> | null = null;
  for (const key in b) {
    if (key !== 'token' && key !== 'project' && key !== 'permission' && Object.hasOwn(b, key)) {
      (fields ??= {})[key] = [`${key} is not a known field`];
    }
  }
  const tokenProblem = stringProblems('token', token, TOKEN_MAX);
  if (tokenProblem) (fields ??= {}).token = tokenProblem;
  const hasProject = project !== undefined && project !== null;
  if (hasProject) {
    const p = stringProblems('project', project, PROJECT_MAX);
    if (p) (fields ??= {}).project = p;
  }
  const hasPermission = permission !== undefined && permission !== null;
  if (hasPermission && !isPermission(permission)) (fields ??= {}).permission = PERMISSION_MESSAGE;
  if (fields) throw validationFailed(fields);
  const dto: VerifyTokenDto = { token: token as string };
  if (hasProject) dto.project = project as string;
  if (hasPermission) dto.permission = permission as Permission;
  return dto;
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
