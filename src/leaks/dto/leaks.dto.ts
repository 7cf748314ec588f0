import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsNotEmpty,
  IsOptional,
  IsString,
  IsUrl,
  MaxLength,
} from 'class-validator';

const MAX_LEAK_REPORT = 100;

export class RevokeLeakedTokensDto {
  @ApiProperty({
    type: [String],
    minItems: 1,
    maxItems: MAX_LEAK_REPORT,
    description:
      'Token strings found in a public place (as a secret scanner reports them). Every one that is a live ' +
      'Keyward token is revoked with the tokens created through it.',
    example: ['kw_2aTk1mJ8xQ4hY7pLs9RvWc0dEfGhJkLmNpQrStUvWxYz0123456789abcdefghijkLmN4e2a1b'],
  })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_LEAK_REPORT)
  @IsString({ each: true })
  @IsNotEmpty({ each: true })
  @MaxLength(512, { each: true })
  tokens: string[];

  @ApiPropertyOptional({
    description: 'Where the tokens were found (kept in the audit trail and sent with `token.leaked`)',
    example: 'https://gist.github.com/someone/0123456789abcdef',
    maxLength: 2048,
  })
  @IsOptional()
  @IsString()
  @MaxLength(2048)
  @IsUrl(
    { protocols: ['http', 'https'], require_protocol: true, require_tld: false },
    {
      message: 'source_url must be an http or https URL',
    },
  )
  source_url?: string;
}

export class LeakReportReceivedDto {
  @ApiProperty({
    type: 'integer',
    description: 'How many token strings the report held (says nothing about which were valid)',
  })
  received: number;
}
