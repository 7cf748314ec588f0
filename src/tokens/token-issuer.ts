import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Prisma } from '../generated/prisma/client.js';
import { PasswordHasher } from './password-hasher.js';
import { TokenCodec } from './token-codec.js';
import { type TokenRow, TokensRepository } from './tokens.repository.js';

/** Issues a token row and returns it with its secret (the only moment the secret exists in clear). */
@Injectable()
export class TokenIssuer {
  constructor(
    private readonly codec: TokenCodec,
    private readonly hasher: PasswordHasher,
    private readonly repo: TokensRepository,
  ) {}

  async issue(
    data: Omit<Prisma.ApiTokenUncheckedCreateInput, 'id' | 'lookupId' | 'secretHash' | 'stub'>,
  ): Promise<{ row: TokenRow; token: string }> {
    const generated = this.codec.generate();
    const secretHash = await this.hasher.hash(generated.token);
    const row = await this.repo.create({
      ...data,
      id: randomUUID(),
      lookupId: generated.lookupId,
      secretHash,
      stub: generated.stub,
    });
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
