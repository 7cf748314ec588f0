import { Injectable } from '@nestjs/common';
import { normalizeScopes } from '../access/app-scopes.js';
import type { AppFieldsData } from './app-fields.js';
import { randomUUID } from 'node:crypto';
import type { Rights } from '../access/policy.js';
import { accessOf, normalizePermissions } from '../access/permissions.js';
import type { Principal } from '../access/principal.js';
import type { Prisma } from '../generated/prisma/client.js';
import { PasswordHasher } from '../verification/password-hasher.js';
import { TokenCodec } from '../verification/token-codec.js';
import { ApiError } from '../common/errors/api-error.js';
import { RevokedAncestorError, type TokenRow, TokensRepository } from './tokens.repository.js';

/** Issues a token row and returns it with its secret (the only moment the secret exists in clear). */
@Injectable()
export class TokenIssuer {
  constructor(
    private readonly codec: TokenCodec,
    private readonly hasher: PasswordHasher,
    private readonly repo: TokensRepository,
  ) {}

  /**
   * A new token with exactly `rights` (already checked against the creator by the policy), created
   * through `creator` (its parent in the token tree). A project token's scope is its one project.
   */
  async issue(
    creator: Pick<Principal, 'id'>,
    rights: Rights,
    fields: { kind: 'global' | 'project'; name?: string | null; description?: string | null; app?: AppFieldsData },
  ): Promise<{ row: TokenRow; token: string }> {
    const permissions = normalizePermissions(rights.permissions);
    if (!permissions.length) throw new Error('refusing to store a token without permissions');
    const scope = rights.projects;
    if (fields.kind === 'project' && scope?.length !== 1) throw new Error('a project token needs exactly one project');
    if (fields.kind === 'global' && scope !== null && scope.length === 0) {
      throw new Error('refusing to store an empty project scope (it would read as every project)');
    }
    const data: Omit<Prisma.ApiTokenUncheckedCreateInput, 'id' | 'lookupId' | 'secretHash' | 'stub'> = {
      kind: fields.kind,
      access: accessOf(permissions),
      permissions,
      projectId: fields.kind === 'project' ? scope![0] : null,
      scopeProjects: fields.kind === 'global' && scope !== null ? [...scope] : [],
      name: fields.name ?? null,
      description: fields.description ?? null,
      createdById: creator.id,
      expiresAt: rights.expiresAt,
      removeOnUse: rights.singleUse,
      ...fields.app,
      scopes: normalizeScopes(rights.scopes ?? []),
    };
    const generated = this.codec.generate();
    const secretHash = await this.hasher.hash(generated.token);
    let row: TokenRow;
    try {
      row = await this.repo.create({
        ...data,
        id: randomUUID(),
        lookupId: generated.lookupId,
        secretHash,
        stub: generated.stub,
      });
    } catch (e) {
      // The creator (or a token above it) was revoked meanwhile: the database refused the child.
      if (e instanceof RevokedAncestorError) throw ApiError.unauthenticated();
      throw e;
    }
    return { row, token: generated.token };
  }

  /**
   * A new secret for an existing token: same id and lookup id (so the same stub), new argon2 hash. With
   * `graceMs` the old secret stays valid until then (never past the token's own expiry); without, it
   * stops working at once. Null when a concurrent rotation or revocation got there first.
   */
  async rotate(row: TokenRow, graceMs = 0, now = new Date()): Promise<{ row: TokenRow; token: string } | null> {
    const generated = this.codec.generate(row.lookupId);
    const secretHash = await this.hasher.hash(generated.token);
    let previousExpiresAt: Date | null = null;
    if (graceMs > 0) {
      previousExpiresAt = new Date(now.getTime() + graceMs);
      if (row.expiresAt && row.expiresAt < previousExpiresAt) previousExpiresAt = row.expiresAt;
    }
    const updated = await this.repo.rotateSecret(row.id, row.secretHash, {
      secretHash,
      previousSecretHash: previousExpiresAt ? row.secretHash : null,
      previousExpiresAt,
    });
    return updated && { row: updated, token: generated.token };
  }
}
