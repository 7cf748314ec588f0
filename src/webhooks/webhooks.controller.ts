import { Body, Controller, Delete, Get, HttpCode, Post, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { Auth, Authenticated } from '../access/access.decorators.js';
import { Permission } from '../access/permissions.js';
import type { Principal } from '../access/principal.js';
import { ErrorEnvelopeDto } from '../common/errors/error-envelope.dto.js';
import { UuidParam } from '../common/http/uuid-param.js';
import {
  CreateWebhookDto,
  ListDeliveriesQueryDto,
  RotateWebhookSecretDto,
  WebhookCreatedDto,
  WebhookDeliveryDto,
  WebhookDto,
} from './dto/webhooks.dto.js';
import { WebhooksService } from './webhooks.service.js';

const NO_WEBHOOK = { description: "No such webhook (or not within the caller's projects)", type: ErrorEnvelopeDto };
const AUTH = { permission: Permission.ManageWebhook };

/**
 * Webhook endpoints: signed (Standard Webhooks) deliveries of token events, queued in the database and
 * retried with exponential backoff. Every route needs `manage:webhook`.
 */
@ApiTags('webhooks')
@ApiBadRequestResponse({
  description: 'Malformed JSON, unknown or invalid fields, malformed UUID',
  type: ErrorEnvelopeDto,
})
@Controller('v1/webhooks')
export class WebhooksController {
  constructor(private readonly service: WebhooksService) {}

  @Post()
  @HttpCode(201)
  @Authenticated(AUTH)
  @ApiOperation({
    operationId: 'createWebhook',
    summary: 'Register a webhook endpoint (its signing secret is returned once, here)',
    description:
      "It receives the chosen token events for the tokens the caller can see (the caller's projects). " +
      'Deliveries carry `webhook-id`, `webhook-timestamp` and `webhook-signature` (Standard Webhooks).',
  })
  @ApiBody({
    type: CreateWebhookDto,
    examples: {
      reminders: { value: { url: 'https://hooks.example.com/keyward', events: ['token.expiring', 'token.expired'] } },
    },
  })
  @ApiCreatedResponse({ type: WebhookCreatedDto })
  create(@Auth() caller: Principal, @Body() dto: CreateWebhookDto): Promise<WebhookCreatedDto> {
    return this.service.create(caller, dto);
  }

  @Get()
  @Authenticated(AUTH)
  @ApiOperation({
    operationId: 'listWebhooks',
    summary: 'The webhook endpoints the caller can see (never their secrets)',
  })
  @ApiOkResponse({ type: [WebhookDto] })
  list(@Auth() caller: Principal): Promise<WebhookDto[]> {
    return this.service.list(caller);
  }

  @Get(':webhookID')
  @Authenticated(AUTH)
  @ApiOperation({ operationId: 'getWebhook', summary: 'One webhook endpoint (never its secret)' })
  @ApiOkResponse({ type: WebhookDto })
  @ApiNotFoundResponse(NO_WEBHOOK)
  get(@Auth() caller: Principal, @UuidParam('webhookID') id: string): Promise<WebhookDto> {
    return this.service.get(caller, id);
  }

  @Delete(':webhookID')
  @HttpCode(204)
  @Authenticated(AUTH)
  @ApiOperation({ operationId: 'deleteWebhook', summary: 'Delete a webhook endpoint and its pending deliveries' })
  @ApiNoContentResponse({ description: 'Deleted: nothing more is delivered to it' })
  @ApiNotFoundResponse(NO_WEBHOOK)
  delete(@Auth() caller: Principal, @UuidParam('webhookID') id: string): Promise<void> {
    return this.service.delete(caller, id);
  }

  @Post(':webhookID/rotate-secret')
  @HttpCode(200)
  @Authenticated(AUTH)
  @ApiOperation({
    operationId: 'rotateWebhookSecret',
    summary: 'Give a webhook endpoint a new signing secret (returned once, here)',
    description:
      'With `grace`, deliveries carry a signature by the previous secret too until the grace ends, so the ' +
      'receiver can switch secrets without rejecting a delivery.',
  })
  @ApiBody({
    type: RotateWebhookSecretDto,
    required: false,
    examples: { 'one hour of overlap': { value: { grace: '1h' } } },
  })
  @ApiOkResponse({ type: WebhookCreatedDto })
  @ApiNotFoundResponse(NO_WEBHOOK)
  rotate(
    @Auth() caller: Principal,
    @UuidParam('webhookID') id: string,
    @Body() dto: RotateWebhookSecretDto,
  ): Promise<WebhookCreatedDto> {
    return this.service.rotate(caller, id, dto ?? {});
  }

  @Get(':webhookID/deliveries')
  @Authenticated(AUTH)
  @ApiOperation({
    operationId: 'listWebhookDeliveries',
    summary: 'The delivery log of a webhook endpoint, newest first',
    description: 'Each event sent to the endpoint: its state, attempts, the last answer, and the body sent.',
  })
  @ApiOkResponse({ type: [WebhookDeliveryDto] })
  @ApiNotFoundResponse(NO_WEBHOOK)
  deliveries(
    @Auth() caller: Principal,
    @UuidParam('webhookID') id: string,
    @Query() query: ListDeliveriesQueryDto,
  ): Promise<WebhookDeliveryDto[]> {
    return this.service.deliveries(caller, id, query);
  }
}
