import { validationFailed } from '../common/errors/validation.js';

/**
 * The permission enum: `<action>:<resource>`. The single source for DTO validation, guard checks and
 * the OpenAPI schema. `<action>:*` covers every resource for that action.
 */
export enum Permission {
  CreateAll = 'create:*',
  ReadAll = 'read:*',
  UpdateAll = 'update:*',
  DeleteAll = 'delete:*',
  CreateToken = 'create:token',
  ReadToken = 'read:token',
  UpdateToken = 'update:token',
  DeleteToken = 'delete:token',
  CreateProject = 'create:project',
  ReadProject = 'read:project',
  UpdateProject = 'update:project',
  DeleteProject = 'delete:project',
  /** The audit trail (`GET /v1/audit`); `read:*` covers it. */
  ReadAudit = 'read:audit',
  /** The Prometheus metrics (`GET /metrics`); `read:*` covers it. */
  ReadMetrics = 'read:metrics',
  /**
   * Webhook endpoints (`/v1/webhooks`): create, list, delete, rotate their secrets, read their
   * delivery logs. Held on its own, or implied by holding all four write wildcards.
   */
  ManageWebhook = 'manage:webhook',
}

export const ALL_PERMISSIONS = Object.values(Permission);
/** `access: write`: the four wildcards. */
export const WRITE_PERMISSIONS = [Permission.CreateAll, Permission.ReadAll, Permission.UpdateAll, Permission.DeleteAll];
/** `access: read`: `read:*`. */
export const READ_PERMISSIONS = [Permission.ReadAll];

export type Access = 'read' | 'write';

export function isPermission(value: unknown): value is Permission {
  return typeof value === 'string' && (ALL_PERMISSIONS as string[]).includes(value);
}

/** Does `held` grant `required`? `create:*` grants `create:token`; `create:token` does not grant `create:*`. */
export function grants(held: readonly string[], required: Permission): boolean {
  if (held.includes(required)) return true;
  if (required === Permission.ManageWebhook) return WRITE_PERMISSIONS.every((p) => held.includes(p));
  const [action] = required.split(':');
  return held.includes(`${action}:*`);
}

/** Does `held` grant every permission of `required`? Values outside the enum are never granted. */
export function grantsAll(held: readonly string[], required: readonly string[]): boolean {
  return required.every((p) => isPermission(p) && grants(held, p));
}

/** The access level a set of permissions amounts to: `write` if it holds anything beyond reading. */
export function accessOf(permissions: readonly string[]): Access {
  return permissions.some((p) => !p.startsWith('read:')) ? 'write' : 'read';
}

/** The explicit permissions an access level stands for. */
export function permissionsForAccess(access: Access): Permission[] {
  return access === 'write' ? [...WRITE_PERMISSIONS] : [...READ_PERMISSIONS];
}

/**
 * The permissions a create or update asks for, in every API style: an explicit list (an empty one
 * counts as none given: Calyptia clients send `[]` for "all"), else what `access` stands for, else
 * `otherwise`. Always explicit; the policy then refuses anything the caller does not hold. A list that
 * holds more than a `read` access stands for is refused (400).
 */
export function requestedPermissions(
  ask: { permissions?: readonly string[] | null; access?: Access | null },
  otherwise: readonly Permission[],
): Permission[] {
  if (ask.permissions?.length) {
    const list = normalizePermissions(ask.permissions);
    if (ask.access === 'read' && accessOf(list) === 'write') {
      throw validationFailed({ permissions: ['a read token cannot hold create, update or delete permissions'] });
    }
    return list;
  }
  if (ask.access) return permissionsForAccess(ask.access);
  return [...otherwise];
}

/** Unique, in the enum's order; values outside the enum are dropped. */
export function normalizePermissions(list: readonly string[]): Permission[] {
  return ALL_PERMISSIONS.filter((p) => list.includes(p));
}

/**
 * What both sets grant: each permission of one that the other grants (`create:*` ∩ `create:token` is
 * `create:token`). The rights of a token under an ancestor are its own intersected with the ancestor's.
 */
export function intersectPermissions(a: readonly string[], b: readonly string[]): Permission[] {
  const both = new Set<string>();
  for (const p of a) if (isPermission(p) && grants(b, p)) both.add(p);
  for (const p of b) if (isPermission(p) && grants(a, p)) both.add(p);
  return normalizePermissions([...both]);
}
