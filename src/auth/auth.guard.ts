import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { IS_PUBLIC, REQUIREMENT, type Requirement } from '../access/access.decorators.js';
import { enforce, mayUseProjectRoute } from '../access/policy.js';
import { ApiError } from '../common/errors/api-error.js';
import { isUuid } from '../common/uuid.js';
import { presentedToken } from '../verification/credentials.js';
import { TokenVerifier, type Verification } from '../verification/token-verifier.js';

/**
 * The one global guard: authenticates every route except @Public() ones through the engine, with
 * the route's one required permission, then confines a project path parameter to the caller's scope.
 * A route that declares neither @Public() nor @Authenticated() is refused (deny by default).
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly verifier: TokenVerifier,
  ) {}

  /** Synchronous when the engine answers without an await (a cached token, a refused address). */
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const { isPublic, requirement } = this.declared(context);
    if (isPublic) return true;
    if (!requirement) throw ApiError.forbidden('This route declares no permission: refused');
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const verification = this.verifier.check({
      credential: presentedToken(request),
      via: 'auth',
      clientAddress: request.ip,
      permission: requirement.permission,
      consume: true,
    });
    return verification instanceof Promise
      ? verification.then((v) => this.admit(request, requirement, v))
      : this.admit(request, requirement, verification);
  }

  /** A passing verdict becomes the request's principal; a project path parameter must be in its scope. */
  private admit(request: FastifyRequest, requirement: Requirement, verification: Verification): true {
    if (verification.error) throw verification.error;
    const principal = verification.principal!;
    request.principal = principal;
    if (requirement.projectParam) {
      const params = (request.params ?? {}) as Record<string, string | undefined>;
      const projectId = params[requirement.projectParam];
      // A malformed id is left to the route's ParseUUIDPipe (400): it cannot name any project.
      if (typeof projectId === 'string' && isUuid(projectId)) {
        enforce(mayUseProjectRoute(principal, projectId), 'Project not found');
      }
    }
    return true;
  }

  /** What the route declares, read from its metadata once per handler (not on every request). */
  private readonly routes = new WeakMap<object, { isPublic: boolean; requirement?: Requirement }>();
  private declared(context: ExecutionContext): { isPublic: boolean; requirement?: Requirement } {
    const handler = context.getHandler();
    let declared = this.routes.get(handler);
    if (!declared) {
      const targets = [handler, context.getClass()];
      declared = {
        isPublic: this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets) === true,
        requirement: this.reflector.getAllAndOverride<Requirement | undefined>(REQUIREMENT, targets),
      };
      this.routes.set(handler, declared);
    }
    return declared;
  }
}
