import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  MaxLength,
  Min,
} from 'class-validator';
import { WEBHOOK_EVENTS, type WebhookEventType } from '../webhook-events.js';

const EVENTS_MESSAGE = `each value in events must be one of: ${WEBHOOK_EVENTS.join(', ')}`;
const EXAMPLE_WEBHOOK_ID = '0f8fad5b-d9cb-469f-a165-70867728950e';

export class CreateWebhookDto {
  @ApiProperty({
    description: 'Where deliveries are POSTed (http or https)',
    example: 'https://hooks.example.com/keyward',
    maxLength: 2048,
  })
  @IsString()
  @MaxLength(2048)
  @IsUrl(
    { protocols: ['http', 'https'], require_protocol: true, require_tld: false, allow_underscores: true },
    { message: 'url must be an http or https URL' },
  )
  url: string;

  @ApiProperty({
    enum: WEBHOOK_EVENTS,
    enumName: 'WebhookEventType',
    isArray: true,
    minItems: 1,
    description: 'The events to deliver',
    example: ['token.expiring', 'token.revoked'],
  })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(WEBHOOK_EVENTS.length)
  @ArrayUnique()
  @IsIn(WEBHOOK_EVENTS, { each: true, message: EVENTS_MESSAGE })
  events: WebhookEventType[];

  @ApiPropertyOptional({ description: 'What the endpoint is for', maxLength: 200, example: 'ops alerts' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  description?: string;
}

export class RotateWebhookSecretDto {
  @ApiPropertyOptional({
    example: '1h',
    default: '0s',
    nullable: true,
    type: String,
    description:
      'How long deliveries stay signed with the previous secret too (at most 7d; absent or null: none), so ' +
      'receivers can switch without losing a delivery',
  })
  @IsOptional()
  @IsString()
  @MaxLength(16)
  @Matches(/^\s*\d+\s*(ms|s|m|h|d)\s*$/i, { message: 'grace must be a duration like 0s, 30s, 10m, 1h or 7d' })
  grace?: string | null;
}

export class WebhookDto {
  @ApiProperty({ format: 'uuid', example: EXAMPLE_WEBHOOK_ID }) id: string;
  @ApiProperty({ example: 'https://hooks.example.com/keyward' }) url: string;
  @ApiProperty({ type: String, nullable: true }) description: string | null;
  @ApiProperty({ enum: WEBHOOK_EVENTS, enumName: 'WebhookEventType', isArray: true })
  events: WebhookEventType[];
  @ApiProperty({
    type: [String],
    nullable: true,
    description: 'Projects whose tokens it hears about (those of its creator); null: every token',
  })
  projects: string[] | null;
  @ApiProperty({ description: 'The credential that created it (token id, `admin`, `file:<name>`, `cli`)' })
  created_by: string;
  @ApiProperty({ format: 'date-time' }) created_at: string;
  @ApiProperty({
    format: 'date-time',
    type: String,
    nullable: true,
    description: 'Until when deliveries are also signed with the previous secret (null: they are not)',
  })
  previous_secret_expires_at: string | null;
}

export class WebhookCreatedDto extends WebhookDto {
  @ApiProperty({
    description:
      'The signing secret (Standard Webhooks `whsec_` form): shown once, here. Verify deliveries with it, e.g. ' +
      'with the `standardwebhooks` package.',
    example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  })
  secret: string;
}

export class ListDeliveriesQueryDto {
  @ApiPropertyOptional({ enum: ['pending', 'succeeded', 'failed'], description: 'Only deliveries in this state' })
  @IsOptional()
  @IsIn(['pending', 'succeeded', 'failed'], { message: 'status must be one of: pending, succeeded, failed' })
  status?: 'pending' | 'succeeded' | 'failed';

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: 1000,
    default: 100,
    description: 'Newest first, at most',
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit?: number;
}

export class WebhookDeliveryDto {
  @ApiProperty({
    description: 'The `webhook-id` header of every attempt',
    example: 'msg_2b0c8c2e6f3e4b1e9d0c5a7f1e2d3c4b',
  })
  id: string;
  @ApiProperty({ enum: WEBHOOK_EVENTS, description: 'The event delivered' }) event_type: WebhookEventType;
  @ApiProperty({
    enum: ['pending', 'succeeded', 'failed'],
    description: '`failed`: no 2xx answer within KEYWARD_WEBHOOK_RETRY_WINDOW of the event; no more attempts',
  })
  status: 'pending' | 'succeeded' | 'failed';
  @ApiProperty({ type: 'integer', description: 'Attempts made so far' }) attempts: number;
  @ApiProperty({ format: 'date-time' }) created_at: string;
  @ApiProperty({ format: 'date-time', type: String, nullable: true, description: 'When the next attempt is due' })
  next_attempt_at: string | null;
  @ApiProperty({ format: 'date-time', type: String, nullable: true }) last_attempt_at: string | null;
  @ApiProperty({ type: 'integer', nullable: true, description: "The endpoint's last HTTP status" })
  last_status_code: number | null;
  @ApiProperty({ type: String, nullable: true, description: 'Why the last attempt failed' }) last_error: string | null;
  @ApiProperty({ format: 'date-time', type: String, nullable: true }) delivered_at: string | null;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'The body sent: `{type, timestamp, data}` (never a secret)',
  })
  payload: Record<string, unknown>;
}
