import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { isPermission, Permission } from '../../access/permissions.js';
import { ApiError } from '../../common/errors/api-error.js';
import { validationFailed } from '../../common/errors/validation.js';
import { isScope, MAX_SCOPE_LENGTH, MAX_SCOPES, SCOPE_PATTERN_SOURCE } from '../../access/app-scopes.js';

const VERDICT_CODES = [
  'VALID',
  'NOT_FOUND',
  'EXPIRED',
  'REVOKED',
  'DISABLED',
  'FORBIDDEN',
  'USED',
  'RATE_LIMITED',
  'USAGE_EXCEEDED',
] as const;
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

  @ApiPropertyOptional({
    type: [String],
    maxItems: MAX_SCOPES,
    items: { type: 'string', pattern: SCOPE_PATTERN_SOURCE, maxLength: MAX_SCOPE_LENGTH },
    description: 'Application scopes the token must hold, all of them (else FORBIDDEN)',
    example: ['docs:delete'],
  })
  scopes?: string[];
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
  const { token, project, permission, scopes } = b;
  let fields: Record<string, string[]> | null = null;
  for (const key in b) {
    if (key !== 'token' && key !== 'project' && key !== 'permission' && key !== 'scopes' && Object.hasOwn(b, key)) {
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
  const hasScopes = scopes !== undefined && scopes !== null;
  if (hasScopes && !(Array.isArray(scopes) && scopes.length <= MAX_SCOPES && scopes.every(isScope))) {
    (fields ??= {}).scopes = [
      `scopes must be an array of at most ${MAX_SCOPES} scopes matching ${SCOPE_PATTERN_SOURCE}`,
    ];
  }
  if (fields) throw validationFailed(fields);
  const dto: VerifyTokenDto = { token: token as string };
  if (hasScopes) dto.scopes = scopes as string[];
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
  @ApiProperty({ type: [String], description: 'Application scopes' }) scopes: string[];
  @ApiProperty({ type: String, nullable: true, description: "Your owner id of the token's customer or service" })
  owner: string | null;
  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true, description: 'Your metadata' })
  meta: Record<string, unknown> | null;
}

export class RateLimitStateDto {
  @ApiProperty({ description: 'Passes per window' }) limit: number;
  @ApiProperty({ description: 'Passes left in this window' }) remaining: number;
  @ApiProperty({ format: 'date-time', description: 'When the window resets' }) reset: string;
}

export class VerifyResultDto {
  @ApiProperty() valid: boolean;
  @ApiProperty({ enum: VERDICT_CODES }) code: VerifyCode;
  @ApiPropertyOptional({ type: VerifiedTokenDto, description: 'Absent when code is NOT_FOUND' })
  token?: VerifiedTokenDto;
  @ApiPropertyOptional({
    type: RateLimitStateDto,
    description: 'Tokens with a rate limit: the window after this check',
  })
  ratelimit?: RateLimitStateDto;
  @ApiPropertyOptional({ description: 'Tokens with usage credits: the credits left after this check' })
  remaining?: number;
}
