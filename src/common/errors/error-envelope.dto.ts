import { ApiProperty } from '@nestjs/swagger';

export class ErrorDetailDto {
  @ApiProperty({
    example: 'authentication_error',
    enum: [
      'bad_request',
      'authentication_error',
      'authorization_error',
      'not_found',
      'conflict',
      'method_not_allowed',
      'gone',
      'payload_too_large',
      'unsupported_media_type',
      'rate_limited',
      'internal_error',
      'service_unavailable',
    ],
  })
  code: string;
  @ApiProperty({ example: 'Invalid or missing API token' }) message: string;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    example: {},
    description: 'Details; for bad_request, `fields` maps each invalid field to its messages',
  })
  data: Record<string, unknown>;
  @ApiProperty({ example: '5f0c2a9d81e6b3c4d7a1e2f3', description: 'Also sent as the X-Trace-Id header' })
  trace_id: string;
}

export class ErrorEnvelopeDto {
  @ApiProperty({ type: ErrorDetailDto }) error: ErrorDetailDto;
}
