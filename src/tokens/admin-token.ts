import { permissionsForAccess } from '../access/permissions.js';
import type { Principal } from '../access/principal.js';
import { AuditService, tokenTarget } from '../audit/audit.service.js';
import { TokenIssuer } from './token-issuer.js';
import { type TokenRow, TokensRepository } from './tokens.repository.js';

/** `created_by_id` of the admin token a first start creates (a migration allows one live such token). */
const ADMIN_CREATOR = 'bootstrap';
const ADMIN_TOKEN_NAME = 'admin';

const ADMIN_RIGHTS = {
  permissions: permissionsForAccess('write'),
  projects: null,
  expiresAt: null,
  singleUse: false,
};

/** What a start found, or did, about the admin token. */
export type AdminTokenState =
  /** Created now: the secret, to be shown this once. */
  | { state: 'created'; row: TokenRow; token: string }
  /** An admin token exists (its secret was shown when it was created). */
  | { state: 'exists'; row: TokenRow }
  /** Another way in exists (live tokens, or an admin token that was revoked): none is created. */
  | { state: 'none'; liveTokens: number; adminRevoked: boolean };

/**
 * The admin token: a database token with every permission on every project, no expiry, created by
 * `bootstrap`. Stored like any other token (only its argon2id hash), rotated like any other. A first
 * start creates it when nothing else could get in: no live token and no admin token ever.
 */
export class AdminTokens {
  constructor(
    private readonly repo: TokensRepository,
    private readonly issuer: TokenIssuer,
    private readonly audit: AuditService,
  ) {}

  async atStart(): Promise<AdminTokenState> {
    const { live, ever } = await this.repo.createdBy(ADMIN_CREATOR);
    if (live) return { state: 'exists', row: live };
    const liveTokens = await this.repo.countActive();
    if (ever > 0 || liveTokens > 0) return { state: 'none', liveTokens, adminRevoked: ever > 0 };
    try {
      return { state: 'created', ...(await this.create(ADMIN_CREATOR)) };
    } catch (err) {
      // Another instance starting at the same moment created it (the partial unique index refused ours).
      const again = await this.repo.createdBy(ADMIN_CREATOR);
      if (again.live) return { state: 'exists', row: again.live };
      throw err;
    }
  }

  /**
   * A new secret for the admin token (same id, so the tokens created through it stay), or a new admin
   * token when there is none. `replaced` says whether an old secret stopped working.
   */
  async reset(actor: Principal): Promise<{ row: TokenRow; token: string; replaced: boolean }> {
    const { live } = await this.repo.createdBy(ADMIN_CREATOR);
    if (live) {
      const rotated = await this.issuer.rotate(live);
      if (rotated) {
        await this.audit.record({ action: 'token.rotate', actor, target: tokenTarget(live), details: { grace_ms: 0 } });
        return { ...rotated, replaced: true };
      }
    }
    const created = await this.create(actor.id);
    return { ...created, replaced: false };
  }

  private async create(actorId: string): Promise<{ row: TokenRow; token: string }> {
    const created = await this.issuer.issue({ id: ADMIN_CREATOR }, ADMIN_RIGHTS, {
      kind: 'global',
      name: ADMIN_TOKEN_NAME,
      description: 'admin token (every permission, every project)',
    });
    await this.audit.record({
      action: 'token.create',
      actor: actorId,
      target: tokenTarget(created.row),
      details: { access: created.row.access, permissions: created.row.permissions },
    });
    return created;
  }
}

/** The block a first start prints on stderr, once: the token, how to use it, how to rotate it. */
export function adminTokenBlock(token: string, url: string): string {
  const rule = '-'.repeat(78);
  return [
    rule,
    'Keyward created an admin token. It is shown only this once; only its hash is stored.',
    '',
    `  admin token: ${token}`,
    '',
    `Use it:     curl -X POST ${url}/publisher.v1/api-token/list -H "Authorization: Bearer <admin token>"`,
    'Rotate it:  keyward admin reset   (npm run cli -- admin reset; on the embedded database, stop the service first)',
    rule,
    '',
  ].join('\n');
}
