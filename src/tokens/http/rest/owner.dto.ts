import { ApiProperty } from '@nestjs/swagger';
import { IsString, MaxLength, MinLength } from 'class-validator';
import { MAX_OWNER_LENGTH } from '../app-fields.dto.js';

export class OwnerActionDto {
  @ApiProperty({ minLength: 1, maxLength: MAX_OWNER_LENGTH, example: 'customer_42', description: 'The owner id' })
  @IsString()
  @MinLength(1)
  @MaxLength(MAX_OWNER_LENGTH)
  owner: string;
}

export class OwnerActionResultDto {
  @ApiProperty({ type: [String], description: "Ids of the owner's tokens acted on now (revoked: with their trees)" })
  tokens: string[];
  @ApiProperty({ description: 'Tokens created through them that were revoked with them' })
  descendants: number;
  @ApiProperty({ description: "The owner's live tokens left alone because they hold rights the caller lacks" })
  skipped: number;
}
