import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, IsUUID, Matches, MaxLength } from 'class-validator';
import { ApiTokenCreatedDto, EXAMPLE_TOKEN_ID } from './publisher.dto.js';

const GRACE_RE = /^\s*\d+\s*(ms|s|m|h|d)\s*$/i;
const GRACE_MESSAGE = 'grace must be a duration like 0s, 30s, 10m, 1h or 7d';

export class RotateTokenDto {
  @ApiPropertyOptional({
    example: '10m',
    default: '0s',
    nullable: true,
    type: String,
    description:
      'How long the previous secret keeps working (at most 30d, never past the token expiry). Absent or null: none.',
  })
  @IsOptional()
  @IsString()
  @MaxLength(16)
  @Matches(GRACE_RE, { message: GRACE_MESSAGE })
  grace?: string | null;
}

export class RotateApiTokenDto extends RotateTokenDto {
  @ApiProperty({ format: 'uuid', example: EXAMPLE_TOKEN_ID, description: 'The `id` from `create` or `list`' })
  @IsUUID('all', { message: 'id must be a token id (UUID)' })
  id: string;
}

export class RotatedTokenResponseDto extends ApiTokenCreatedDto {
  @ApiProperty({
    format: 'date-time',
    nullable: true,
    type: String,
    description: 'Until when the previous secret still works (null: it stopped at once)',
  })
  previous_expires_at: string | null;
}
