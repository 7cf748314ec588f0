import { Controller, Get, Logger, Req, Res } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiForbiddenResponse,
  ApiOkResponse,
  ApiOperation,
  ApiQuery,
  ApiSecurity,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { GATEWAY_ANSWER } from '../common/http/security-headers.js';
import { ChecksOwnCredential, Public, SECURITY_SCHEMES } from '../access/access.decorators.js';
import { AddRouteConfig } from '../common/http/route-config.js';
import { ALL_PERMISSIONS } from '../access/permissions.js';
import type { Principal } from '../access/principal.js';
import { presentedToken } from './credentials.js';
import { addLogFields } from '../common/http/access-log.js';
import { ErrorEnvelopeDto } from '../common/errors/error-envelope.dto.js';
import { sendError } from '../common/errors/all-exceptions.filter.js';
import { type CheckQuery, ForwardAuthService, MAX_PROJECT_LENGTH, parseCheckQuery } from './forward-auth.service.js';
import type { Verification } from './token-verifier.js';
import { forwardedRequest } from './original-request.js';
import { MAX_SCOPES, SCOPE_PATTERN_SOURCE } from '../access/app-scopes.js';

const META_HEADER = 'x-keyward-meta';
const ERRORS = new Logger('Errors');

/** `X-Keyward-Meta`: the token's metadata as base64 JSON (`e30=`, i.e. `{}`, when it has none). */
function metaHeader(principal: Principal): string {
  return Buffer.from(JSON.stringify(principal.meta ?? {})).toString('base64');
}

/**
 * `GET /v1/auth/check` for gateways (nginx `auth_request`, Traefik ForwardAuth, Caddy `forward_auth`).
 * `@Public()` at the guard: the route authenticates the presented token itself, through the same
 * TokenVerifier, because its answer *is* the verdict on that token (with the permission and project
 * the gateway's config asks for) rather than a gate in front of some other work.
 */
@ApiTags('forward auth')
@Controller('v1/auth')
export class ForwardAuthController {
  constructor(private readonly service: ForwardAuthService) {}

  @Get('check')
  @AddRouteConfig(GATEWAY_ANSWER)
  @Public()
  @ChecksOwnCredential()
  @ApiOperation({
    operationId: 'forwardAuthCheck',
    summary: 'Forward auth for gateways: 200 (with identity headers) if the presented token may pass',
    description:
      'Send the token in any of the usual headers. `permission` and `project` (from the gateway config) ' +
      'narrow the check. 200 has no body; 401/403 carry the error envelope. A single-use token is consumed ' +
      'by its one 200. Also answers HEAD. `X-Original-Method`/`X-Original-URI` and ' +
      '`X-Forwarded-Method`/`X-Forwarded-Uri` are read for the access log only.',
  })
  @ApiQuery({
    name: 'permission',
    required: false,
    enum: ALL_PERMISSIONS,
    description: 'Permission the token must hold',
  })
  @ApiQuery({
    name: 'project',
    required: false,
    schema: { type: 'string', minLength: 1, maxLength: MAX_PROJECT_LENGTH },
    description: `Project id or name the token must be allowed on (1 to ${MAX_PROJECT_LENGTH} characters)`,
  })
  @ApiQuery({
    name: 'scope',
    required: false,
    schema: { type: 'array', maxItems: MAX_SCOPES, items: { type: 'string', pattern: SCOPE_PATTERN_SOURCE } },
    style: 'form',
    explode: true,
    description: 'Application scope the token must hold (repeat for several: all are required)',
  })
  @ApiQuery({
    name: 'meta',
    required: false,
    schema: { type: 'string', enum: ['1', 'true', '0', 'false'] },
    description: "`1`: answer the token's metadata as `X-Keyward-Meta` (base64 JSON)",
  })
  @ApiOkResponse({
    description: 'The token may pass',
    headers: {
      'X-Keyward-Token-Id': { description: 'Token id (or `admin`, `file:<name>`)', schema: { type: 'string' } },
      'X-Keyward-Permissions': { description: 'Comma-separated permissions', schema: { type: 'string' } },
      'X-Keyward-Projects': {
        description: 'Comma-separated project ids the token is confined to; `*` = every project',
        schema: { type: 'string' },
      },
      'X-Keyward-Scopes': { description: 'Comma-separated application scopes', schema: { type: 'string' } },
      'X-Keyward-Meta': { description: 'With `meta=1`: the metadata as base64 JSON', schema: { type: 'string' } },
      'RateLimit-Limit': { description: 'Rate-limited tokens: passes per window', schema: { type: 'string' } },
      'RateLimit-Remaining': { description: 'Rate-limited tokens: passes left', schema: { type: 'string' } },
      'RateLimit-Reset': {
        description: 'Rate-limited tokens: seconds until the window resets',
        schema: { type: 'string' },
      },
      'X-Keyward-Remaining': { description: 'Tokens with usage credits: credits left', schema: { type: 'string' } },
    },
  })
  @ApiUnauthorizedResponse({ description: 'Missing, invalid, expired, revoked or used token', type: ErrorEnvelopeDto })
  @ApiForbiddenResponse({
    description: 'Valid token without the permission, project or scopes asked for, or without usage credits left',
    type: ErrorEnvelopeDto,
  })
  @ApiBadRequestResponse({
    description: 'Unknown permission, or a project of the wrong length',
    type: ErrorEnvelopeDto,
  })
  @ApiTooManyRequestsResponse({
    description: "Throttled (authentication failures), or the token's own rate limit (then with RateLimit-* headers)",
    type: ErrorEnvelopeDto,
    headers: {
      'Retry-After': { description: 'Seconds to wait', schema: { type: 'string' } },
      'RateLimit-Limit': { schema: { type: 'string' } },
      'RateLimit-Remaining': { schema: { type: 'string' } },
      'RateLimit-Reset': { schema: { type: 'string' } },
    },
  })
  @ApiSecurity(SECURITY_SCHEMES[0])
  @ApiSecurity(SECURITY_SCHEMES[1])
  @ApiSecurity(SECURITY_SCHEMES[2])
  @ApiSecurity(SECURITY_SCHEMES[3])
  check(@Req() request: FastifyRequest, @Res() reply: FastifyReply): void | Promise<void> {
    // Every answer is sent here, refusals included (through the error filter's own sendError), so that a
    // gateway's 401/403/429 does not take Nest's exception path: this route is called for every request
    // a gateway lets through, and refused far more often than most under attack. Synchronous when the
    // engine answers without an await (a cached token, a refused address).
    let query: CheckQuery;
    let pending: Verification | Promise<Verification>;
    try {
      // The gateway's original method and URI: for the access log only, never for the verdict.
      const forwarded = forwardedRequest(request.headers);
      if (forwarded) addLogFields(request, { forwarded_method: forwarded.method, forwarded_uri: forwarded.uri });
      query = parseCheckQuery(request.query as Record<string, unknown> | undefined, ALL_PERMISSIONS);
      pending = this.service.check(presentedToken(request), request.ip, query);
    } catch (e) {
      return sendError(reply, request, e, ERRORS);
    }
    if (!(pending instanceof Promise)) return answer(request, reply, query, pending);
    return pending.then(
      (verification) => answer(request, reply, query, verification),
      (e: unknown) => sendError(reply, request, e, ERRORS),
    );
  }
}

/** Sends the verdict: 200 with the identity headers, or the refusal (with rate-limit headers on a 429). */
function answer(request: FastifyRequest, reply: FastifyReply, query: CheckQuery, verification: Verification): void {
  void reply.headers(verification.headers);
  if (verification.error) return sendError(reply, request, verification.error, ERRORS);
  request.principal = verification.principal;
  if (query.meta) void reply.header(META_HEADER, metaHeader(verification.principal!));
  void reply.send();
}
