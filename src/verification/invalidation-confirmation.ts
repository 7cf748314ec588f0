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
 * With KEYWARD_REVOKE_CONFIRM=all: once the route's handler has succeeded (its changes are committed),
 * holds the answer until every live instance acknowledged the invalidation, or the timeout passed, and
 * states which in `X-Keyward-Invalidation`. Off: passes the answer through untouched.
 */
@Injectable()
class InvalidationConfirmationInterceptor implements NestInterceptor {
  constructor(private readonly events: TokenEventsService) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (!this.events.confirmMode) return next.handle();
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    return next.handle().pipe(
      mergeMap((body) =>
        from(
          this.events.confirmInvalidation().then((outcome) => {
            reply.header(INVALIDATION_HEADER_NAME, invalidationHeader(outcome));
            return body;
          }),
        ),
      ),
    );
  }
}

/**
 * On a route whose success drops cached verification results (revoke, disable, PATCH, rotation,
 * project delete): KEYWARD_REVOKE_CONFIRM=all makes its answer wait for every instance, and the
 * OpenAPI document lists `X-Keyward-Invalidation` on its 2xx answers.
 */
export const ConfirmsInvalidation = (): MethodDecorator & ClassDecorator =>
  applyDecorators(UseInterceptors(InvalidationConfirmationInterceptor), ApiExtension(INVALIDATION_EXTENSION, true));
