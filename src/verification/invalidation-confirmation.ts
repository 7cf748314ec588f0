import {
  applyDecorators,
  type CallHandler,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
  UseInterceptors,
} from '@nestjs/common';
import { ApiExtension } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { from, mergeMap, type Observable } from 'rxjs';
import { INVALIDATION_EXTENSION, INVALIDATION_HEADER_NAME } from '../common/openapi/openapi.js';
import { type InvalidationOutcome, TokenEventsService } from './token-events.service.js';

/** `confirmed; 3 of 3 instances`, `timeout; 2 of 3 instances`. */
function invalidationHeader(outcome: InvalidationOutcome): string {
  return `${outcome.confirmed ? 'confirmed' : 'timeout'}; ${outcome.acknowledged} of ${outcome.instances} instances`;
}

/**
 * Once the route's handler has succeeded (its changes are committed), holds the answer until this
 * instance's listener has applied them to its cache (TokenEventsService.ownChangesApplied: a few
 * milliseconds). With KEYWARD_REVOKE_CONFIRM=all, also until every live instance acknowledged the
 * invalidation, or the timeout passed, and states which in `X-Keyward-Invalidation`.
 */
@Injectable()
class InvalidationConfirmationInterceptor implements NestInterceptor {
  constructor(private readonly events: TokenEventsService) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    return next.handle().pipe(mergeMap((body) => from(this.settle(reply).then(() => body))));
  }

  private async settle(reply: FastifyReply): Promise<void> {
    if (!this.events.confirmMode) return this.events.ownChangesApplied();
    const [, outcome] = await Promise.all([this.events.ownChangesApplied(), this.events.confirmInvalidation()]);
    reply.header(INVALIDATION_HEADER_NAME, invalidationHeader(outcome));
  }
}

/** Holds the answer until this instance's listener has applied the route's changes (no header, no wait for others). */
@Injectable()
class OwnChangeInterceptor implements NestInterceptor {
  constructor(private readonly events: TokenEventsService) {}

  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(mergeMap((body) => from(this.events.ownChangesApplied().then(() => body))));
  }
}

/**
 * On a route whose success changes what verification answers. By default (revoke, disable, PATCH,
 * rotation, project rename and delete, owner actions: changes that end or narrow a token): the answer
 * leaves once this instance's cache applied the change; KEYWARD_REVOKE_CONFIRM=all makes it wait for
 * every instance, and the OpenAPI document lists `X-Keyward-Invalidation` on its 2xx answers.
 * `{ acrossInstances: false }` (project create: tokens-file entries may reach the new project): only
 * the wait for this instance, no header.
 */
export const ConfirmsInvalidation = ({ acrossInstances = true }: { acrossInstances?: boolean } = {}): MethodDecorator &
  ClassDecorator =>
  acrossInstances
    ? applyDecorators(UseInterceptors(InvalidationConfirmationInterceptor), ApiExtension(INVALIDATION_EXTENSION, true))
    : applyDecorators(UseInterceptors(OwnChangeInterceptor));
