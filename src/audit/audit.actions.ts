/**
 * What the audit trail records. `auth.failed` rows aggregate failed authentications per minute;
 * `token.leaked` is a revocation reported through `POST /v1/tokens/revoke-leaked`.
 */
export const AUDIT_ACTIONS = [
  'token.create',
  'token.rotate',
  'token.revoke',
  'token.update',
  'token.delete',
  'token.disable',
  'token.enable',
  'project.create',
  'project.rename',
  'project.delete',
  'tokens_file.reload',
  'token.leaked',
  'webhook.create',
  'webhook.delete',
  'webhook.rotate',
  'auth.failed',
] as const;

export type AuditAction = (typeof AUDIT_ACTIONS)[number];
