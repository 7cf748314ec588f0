import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';

/** RFC 7662 §2.1, sent as `application/x-www-form-urlencoded`. */
export class IntrospectTokenDto {
  @ApiProperty({ description: 'The token to look at', maxLength: 4096, example: 'kw_2aTk1mJ8xQ4hY7pLs9RvWc0dEfGh…' })
  @IsString()
  @MaxLength(4096)
  token: string;

  @ApiPropertyOptional({
    description: 'A hint about the token (`access_token`, ...); accepted and ignored, as RFC 7662 allows',
    maxLength: 64,
  })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  token_type_hint?: string;

  @ApiPropertyOptional({
    description:
      'Sent by OAuth clients that authenticate as public clients; ignored (the caller is identified by its ' +
      'Keyward token)',
    maxLength: 256,
  })
  @IsOptional()
  @IsString()
  @MaxLength(256)
  client_id?: string;
}

/** RFC 7662 §2.2. An inactive token is `{"active": false}` and nothing else. */
export class IntrospectionDto {
  @ApiProperty({ description: 'The token is valid now (known, not expired, revoked, disabled or used up)' })
  active: boolean;

  @ApiPropertyOptional({
    description:
      "The token's application scopes, space-separated (absent while it has none); never its management permissions",
  })
  scope?: string;

  @ApiPropertyOptional({
    description: 'The credential: the token id (or `admin`, `file:<name>`)',
    example: '123e4567-e89b-12d3-a456-426614174000',
  })
  client_id?: string;

  @ApiPropertyOptional({ description: 'Whom the token belongs to (its owner), when set' })
  sub?: string;

  @ApiPropertyOptional({ type: 'integer', description: 'Expiry, seconds since the Unix epoch (absent: never expires)' })
  exp?: number;

  @ApiPropertyOptional({ type: 'integer', description: 'Creation, seconds since the Unix epoch' })
  iat?: number;

  @ApiPropertyOptional({ enum: ['Bearer'], description: 'How the token is presented' })
  token_type?: 'Bearer';
}
