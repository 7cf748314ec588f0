/** What the audit trail records. `auth.failed` rows aggregate failed authentications per minute. */
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
  'auth.failed',
] as const;

export type AuditAction = (typeof AUDIT_ACTIONS)[number];
