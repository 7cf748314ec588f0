import { applyDecorators, createParamDecorator, type ExecutionContext, SetMetadata } from '@nestjs/common';
import {
  ApiExtension,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiSecurity,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { ErrorEnvelopeDto } from '../common/errors/error-envelope.dto.js';
import { AddRouteConfig } from '../common/http/route-config.js';
import { PERMISSION_EXTENSION } from '../common/openapi/openapi.js';
import type { Permission } from './permissions.js';
import type { Principal } from './principal.js';

export const IS_PUBLIC = 'keyward:public';
export const REQUIREMENT = 'keyward:requirement';
/**
 * Fastify route config key: the route checks the credential a request presents, through the guard
 * (@Authenticated) or itself through the engine (@ChecksOwnCredential). The throttle gate reads it.
 */
export const CHECKS_CREDENTIAL = 'checksCredential';

/** The security schemes every protected route accepts (see main setup of the OpenAPI document). */
export const SECURITY_SCHEMES = ['bearer', 'x-token', 'x-api-key', 'x-project-token'] as const;

export interface Requirement {
  /** The one permission the route requires; `<action>:*` covers it. */
  permission: Permission;
  /**
   * Name of the route parameter holding a project id the caller must be confined to (e.g.
   * `projectID`). A project outside the caller's scope answers 404, so existence does not leak.
   */
  projectParam?: string;
}

/** Open route: no credential needed. Everything else is denied by default. */
export const Public = () => SetMetadata(IS_PUBLIC, true);

/**
 * A @Public() route that checks the presented credential itself, through the engine (forward auth):
 * like the guard's routes, it is behind the throttle gate.
 */
export const ChecksOwnCredential = () => AddRouteConfig({ [CHECKS_CREDENTIAL]: true });

/**
 * Declares the one permission a route requires, for the global guard and, in the same breath, for
 * OpenAPI: the security schemes, the `x-keyward-permission` extension (added to the operation's
 * description when the document is built) and the 401/403 responses.
 */
export function Authenticated(requirement: Requirement) {
  return applyDecorators(
    SetMetadata(REQUIREMENT, requirement),
    AddRouteConfig({ [CHECKS_CREDENTIAL]: true }),
    ApiExtension(PERMISSION_EXTENSION, requirement.permission),
    ...SECURITY_SCHEMES.map((s) => ApiSecurity(s)),
    ApiUnauthorizedResponse({ description: 'Invalid, missing, expired or revoked token', type: ErrorEnvelopeDto }),
    ApiForbiddenResponse({
      description: `The token lacks the \`${requirement.permission}\` permission, or asks for rights it does not hold`,
      type: ErrorEnvelopeDto,
    }),
    ...(requirement.projectParam
      ? [
          ApiNotFoundResponse({
            description: "Unknown project, or a project outside the token's scope (indistinguishable)",
            type: ErrorEnvelopeDto,
          }),
        ]
      : []),
  );
}

/** The authenticated caller, as set by the global guard. */
export const Auth = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): Principal => ctx.switchToHttp().getRequest<{ principal: Principal }>().principal,
);
