import { ApiProperty } from '@nestjs/swagger';

export class RevokedTreeDto {
  @ApiProperty({ example: 'file:ci-deploy', description: 'The tokens-file entry whose tokens were revoked' })
  creator: string;

  @ApiProperty({ example: 3, description: 'Tokens revoked now: those the entry created and every token below them' })
  revoked: number;
}
