import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { ApiError } from '../common/api-error.js';
import { IS_PUBLIC, REQUIREMENT, type Requirement } from '../access/access.decorators.js';
import { TokenVerifier } from './token-verifier.js';
import { AuthThrottle } from './auth-throttle.js';
import { presentedToken } from './credentials.js';
import { grants } from '../access/permissions.js';
import type { Principal } from '../access/principal.js';
import { isUuid } from '../common/uuid.js';

/** The one global guard: authenticates every route except @Public() ones, then checks the requirement. */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly auth: TokenVerifier,
    private readonly throttle: AuthThrottle,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest & { principal?: Principal }>();
    const principal = await this.throttle.forClient(request.ip, () => this.auth.authenticate(presentedToken(request)));
    request.principal = principal;
    const requirement = this.reflector.getAllAndOverride<Requirement | undefined>(REQUIREMENT, targets) ?? {};
    if (!satisfies(principal, requirement)) throw ApiError.forbidden();
    if (requirement.projectParam) {
      const params = (request.params ?? {}) as Record<string, string | undefined>;
      const projectId = params[requirement.projectParam];
      // A malformed id is left to the route's ParseUUIDPipe (400): it cannot name any project.
      if (typeof projectId === 'string' && isUuid(projectId) && !inProjectScope(principal, projectId)) {
        throw ApiError.notFound('Project not found');
      }
    }
    return true;
  }
}

/** May the caller act inside this project? `projects: null` means every project. */
export function inProjectScope(principal: Principal, projectId: string): boolean {
  return principal.projects === null || principal.projects.some((p) => p.toLowerCase() === projectId.toLowerCase());
}

export function satisfies(principal: Principal, requirement: Requirement): boolean {
  if (requirement.globalOnly && principal.kind !== 'global') return false;
  if (requirement.access === 'write' && principal.access !== 'write') return false;
  if (requirement.permission && !grants(principal.permissions, requirement.permission)) return false;
  return true;
}
