import { applyDecorators, createParamDecorator, type ExecutionContext, SetMetadata } from '@nestjs/common';
import { ApiForbiddenResponse, ApiNotFoundResponse, ApiSecurity, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { ErrorEnvelopeDto } from '../common/error-envelope.dto.js';
import type { Access, Permission } from './permissions.js';
import type { Principal } from './principal.js';

export const IS_PUBLIC = 'keyward:public';
export const REQUIREMENT = 'keyward:requirement';

/** The security schemes every protected route accepts (see main setup of the OpenAPI document). */
export const SECURITY_SCHEMES = ['bearer', 'x-token', 'x-api-key', 'x-project-token'] as const;

export interface Requirement {
  /** Minimum access level (`write` implies `read`). */
  access?: Access;
  /** A permission of the enum; `<action>:*` covers it. */
  permission?: Permission;
  /** Only global (Publisher-style) tokens, not project tokens. */
  globalOnly?: boolean;
  /**
   * Name of the route parameter holding a project id the caller must be confined to (e.g.
   * `projectID`). A project outside the caller's scope answers 404, so existence does not leak.
   */
  projectParam?: string;
}

/** Open route: no credential needed. Everything else is denied by default. */
export const Public = () => SetMetadata(IS_PUBLIC, true);

/**
 * Declares who may call a route, for the global guard and, in the same breath, for OpenAPI: the
 * security schemes and the 401/403 responses.
 */
export function Authenticated(requirement: Requirement = {}) {
  const what = [
    requirement.access && `\`${requirement.access}\` access`,
    requirement.permission && `the \`${requirement.permission}\` permission`,
    requirement.globalOnly && 'a global (non-project) token',
    requirement.projectParam && `access to the project \`${requirement.projectParam}\``,
  ]
    .filter(Boolean)
    .join(', ');
  return applyDecorators(
    SetMetadata(REQUIREMENT, requirement),
    ...SECURITY_SCHEMES.map((s) => ApiSecurity(s)),
    ApiUnauthorizedResponse({ description: 'Invalid, missing, expired or revoked token', type: ErrorEnvelopeDto }),
    ApiForbiddenResponse({
      description: `Insufficient permissions${what ? `: needs ${what}` : ''}`,
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
