import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateNested,
} from 'class-validator';
import { MAX_SCOPE_LENGTH, MAX_SCOPES, SCOPE_PATTERN, SCOPE_PATTERN_SOURCE } from '../../access/app-scopes.js';

export const MAX_META_BYTES = 4096;
export const MAX_OWNER_LENGTH = 200;
const MAX_INT = 2_147_483_647;

const RATELIMIT_PROPERTIES = {
  limit: { type: 'integer', minimum: 1, maximum: 1_000_000, description: 'Passes allowed per window' },
  duration: { type: 'integer', minimum: 1000, maximum: MAX_INT, description: 'Window length in milliseconds' },
};
const REFILL_PROPERTIES = {
  amount: { type: 'integer', minimum: 1, maximum: MAX_INT, description: 'Credits after each refill' },
  interval: { type: 'integer', minimum: 1000, maximum: MAX_INT, description: 'Interval in milliseconds' },
};

/** An inline nullable object schema (a nullable `$ref` is not expressible in OpenAPI 3.0). */
function nullableObject(properties: Record<string, object>, description: string) {
  return {
    type: 'object',
    nullable: true,
    properties,
    required: Object.keys(properties),
    description,
  } as const;
}

export class RateLimitDto {
  @ApiProperty({ minimum: 1, maximum: 1_000_000, example: 100, description: 'Passes allowed per window' })
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  limit: number;

  @ApiProperty({ minimum: 1000, maximum: MAX_INT, example: 60000, description: 'Window length in milliseconds' })
  @IsInt()
  @Min(1000)
  @Max(MAX_INT)
  duration: number;
}

export class RefillDto {
  @ApiProperty({ minimum: 1, maximum: MAX_INT, example: 1000, description: 'Credits added each interval' })
  @IsInt()
  @Min(1)
  @Max(MAX_INT)
  amount: number;

  @ApiProperty({ minimum: 1000, maximum: MAX_INT, example: 86400000, description: 'Interval in milliseconds' })
  @IsInt()
  @Min(1000)
  @Max(MAX_INT)
  interval: number;
}

/**
 * What a token carries for the user's own APIs, on create and update in every API style: application
 * scopes, metadata, owner, a rate limit and usage credits. On update an absent field is unchanged and
 * `null` clears it (`scopes: []` removes every scope).
 */
export class AppFieldsDto {
  @ApiPropertyOptional({
    type: [String],
    maxItems: MAX_SCOPES,
    example: ['docs:delete', 'stations:read'],
    description:
      `Application scopes (at most ${MAX_SCOPES}, case-sensitive, pattern \`${SCOPE_PATTERN_SOURCE}\`); ` +
      '`docs:*` stands for every scope starting with `docs:`, `*` for every scope. Only scopes the caller holds.',
    items: { type: 'string', pattern: SCOPE_PATTERN_SOURCE, maxLength: MAX_SCOPE_LENGTH },
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_SCOPES)
  @IsString({ each: true })
  @MaxLength(MAX_SCOPE_LENGTH, { each: true })
  @Matches(SCOPE_PATTERN, { each: true, message: `each scope must match ${SCOPE_PATTERN_SOURCE}` })
  scopes?: string[] | null;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    nullable: true,
    description: `Your own metadata: a JSON object of at most ${MAX_META_BYTES} bytes, returned by verification`,
    example: { plan: 'pro', customer: 'acme' },
  })
  @IsOptional()
  @IsObject()
  meta?: Record<string, unknown> | null;

  @ApiPropertyOptional({
    type: String,
    nullable: true,
    minLength: 1,
    maxLength: MAX_OWNER_LENGTH,
    description: 'Your own id of the customer or service the token belongs to',
    example: 'customer_42',
  })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(MAX_OWNER_LENGTH)
  owner?: string | null;

  @ApiPropertyOptional(
    nullableObject(RATELIMIT_PROPERTIES, 'At most `limit` passes per `duration` ms (null clears it)'),
  )
  @IsOptional()
  @ValidateNested()
  @Type(() => RateLimitDto)
  ratelimit?: RateLimitDto | null;

  @ApiPropertyOptional({
    type: Number,
    nullable: true,
    minimum: 0,
    maximum: MAX_INT,
    description: 'Usage credits: each pass with consume takes one; none left = USAGE_EXCEEDED. Absent = unlimited',
  })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_INT)
  remaining?: number | null;

  @ApiPropertyOptional(
    nullableObject(REFILL_PROPERTIES, 'Every `interval` ms the credits are topped up to `amount` (needs `remaining`)'),
  )
  @IsOptional()
  @ValidateNested()
  @Type(() => RefillDto)
  refill?: RefillDto | null;
}

export class RateLimitViewDto {
  @ApiProperty() limit: number;
  @ApiProperty({ description: 'Window length in milliseconds' }) duration: number;
}

export class RefillViewDto {
  @ApiProperty() amount: number;
  @ApiProperty({ description: 'Interval in milliseconds' }) interval: number;
}

/** The same fields as shown in list and get answers. */
export class AppFieldsViewDto {
  @ApiProperty({ type: [String], description: 'Application scopes' }) scopes: string[];
  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true }) meta: Record<string, unknown> | null;
  @ApiProperty({ type: String, nullable: true }) owner: string | null;
  @ApiProperty(nullableObject(RATELIMIT_PROPERTIES, 'At most `limit` passes per `duration` ms'))
  ratelimit: RateLimitViewDto | null;
  @ApiProperty({ type: Number, nullable: true, description: 'Usage credits left; null = unlimited' })
  remaining: number | null;
  @ApiProperty(nullableObject(REFILL_PROPERTIES, 'Credits topped up to `amount` every `interval` ms'))
  refill: RefillViewDto | null;
}
