import { Injectable } from '@nestjs/common';
import { isPermission, type Permission } from '../access/permissions.js';
import { validationFailed } from '../common/errors/validation.js';
import { isScope, MAX_SCOPES, SCOPE_PATTERN_SOURCE } from '../access/app-scopes.js';
import { TokenVerifier, type Verification } from './token-verifier.js';

export interface CheckQuery {
  permission?: Permission;
  project?: string;
  /** Application scopes the token must hold (`?scope=`, repeated). */
  scopes?: string[];
  /** Answer the token's metadata as `X-Keyward-Meta` (`?meta=1`). */
  meta?: boolean;
}

const PERMISSION_MESSAGE = 'permission must be one of: ';
export const MAX_PROJECT_LENGTH = 200;

/**
 * The query a gateway puts in its config: `permission` (one of the enum) and `project` (id or name).
 * Checked by hand (no DTO class on this hot path); errors are the usual 400 envelope.
 */
export function parseCheckQuery(
  query: Record<string, unknown> | undefined,
  permissions: readonly string[],
): CheckQuery {
  if (!query) return {};
  const out: CheckQuery = {};
  const fields: Record<string, string[]> = {};
  const { permission, project, scope, meta } = query;
  if (scope !== undefined) {
    const list = Array.isArray(scope) ? scope : [scope];
    if (list.length <= MAX_SCOPES && list.every(isScope)) out.scopes = list as string[];
    else fields.scope = [`scope must match ${SCOPE_PATTERN_SOURCE}, at most ${MAX_SCOPES} times`];
  }
  if (meta !== undefined) {
    if (meta === '1' || meta === 'true') out.meta = true;
    else if (meta !== '0' && meta !== 'false') fields.meta = ['meta must be 1, true, 0 or false'];
  }
  if (permission !== undefined) {
    if (isPermission(permission)) out.permission = permission;
    else fields.permission = [PERMISSION_MESSAGE + permissions.join(', ')];
  }
  if (project !== undefined) {
    if (typeof project === 'string' && project.length >= 1 && project.length <= MAX_PROJECT_LENGTH) {
      out.project = project;
    } else {
      fields.project = [`project must be a string of 1 to ${MAX_PROJECT_LENGTH} characters`];
    }
  }
  if (fields.permission || fields.project || fields.scope || fields.meta) throw validationFailed(fields);
  return out;
}

/**
 * Forward auth (nginx `auth_request`, Traefik ForwardAuth, Caddy `forward_auth`): the verdict on the
 * token the request presents, through the engine, like the guard: throttled per client address and per
 * credential, failed authentications audited. A single-use token is consumed by the one check that
 * allows it, never by a 401/403.
 */
@Injectable()
export class ForwardAuthService {
  constructor(private readonly verifier: TokenVerifier) {}

  /** Without an await when the engine answers without one (see TokenVerifier.check). */
  check(presented: string | null, clientAddress: string, query: CheckQuery): Verification | Promise<Verification> {
    return this.verifier.check({
      credential: presented,
      via: 'forward_auth',
      clientAddress,
      permission: query.permission,
      project: query.project,
      scopes: query.scopes,
      consume: true,
    });
  }
}
