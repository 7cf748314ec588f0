import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { assertCanGrant } from '../auth/escalation.js';
import { permissionsForAccess } from '../auth/permissions.js';
import type { Principal } from '../auth/principal.js';
import { ApiError } from '../common/api-error.js';
import { decodeCursor, encodeCursor, type KeysetPosition } from '../common/keyset-cursor.js';
import { validationFailed } from '../common/validation.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import type { Prisma } from '../generated/prisma/client.js';
import type {
  ApiTokenCreatedDto,
  ApiTokenDto,
  ApiTokenListDto,
  CreateApiTokenDto,
  ListApiTokensDto,
} from './dto/publisher.dto.js';
import { PasswordHasher } from './password-hasher.js';
import { TokenCodec } from './token-codec.js';
import { type TokenRow, TokensRepository } from './tokens.repository.js';

const iso = (d: Date | null) => (d ? d.toISOString().replace(/\.\d{3}Z$/, (m) => (m === '.000Z' ? 'Z' : m)) : null);

export function tokenStatus(row: TokenRow, now = new Date()): 'active' | 'expired' | 'revoked' | 'used' {
  if (row.revokedAt) return 'revoked';
  if (row.usedAt) return 'used';
  if (row.expiresAt && row.expiresAt <= now) return 'expired';
  return 'active';
}

export function toApiTokenDto(row: TokenRow): ApiTokenDto {
  return {
    id: row.id,
    access: row.access,
    description: row.description,
    token_stub: row.stub,
    status: tokenStatus(row),
    created_at: iso(row.createdAt)!,
    expires_at: iso(row.expiresAt),
    revoked_at: iso(row.revokedAt),
    last_used_at: iso(row.lastUsedAt),
  };
}

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

export interface RotatedTokenDto extends ApiTokenCreatedDto {
  /** Until when the previous secret still authenticates (null: it stopped at once). */
  previous_expires_at: string | null;
}

/** The Publisher-style (seed 001) API: create, list, revoke global tokens. */
@Injectable()
export class TokensService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly repo: TokensRepository,
    private readonly issuer: TokenIssuer,
  ) {}

  async create(caller: Principal, dto: CreateApiTokenDto): Promise<ApiTokenCreatedDto> {
    let requested: Date | null = null;
    if (dto.expires_at) {
      requested = new Date(dto.expires_at);
      if (requested.getTime() <= Date.now()) {
        throw validationFailed({ expires_at: ['expires_at must be in the future'] });
      }
      if (requested.getTime() > Date.now() + this.config.KEYWARD_MAX_TOKEN_TTL) {
        throw validationFailed({ expires_at: ['expires_at is further away than KEYWARD_MAX_TOKEN_TTL allows'] });
      }
    }
    const expiresAt = assertCanGrant(caller, {
      access: dto.access,
      permissions: permissionsForAccess(dto.access),
      projects: caller.projects,
      expiresAt: requested,
    });
    const { row, token } = await this.issuer.issue({
      kind: 'global',
      access: dto.access,
      permissions: permissionsForAccess(dto.access),
      scopeProjects: caller.projects ?? [],
      description: dto.description ?? null,
      createdById: caller.id,
      expiresAt,
    });
    return {
      id: row.id,
      access: row.access,
      description: row.description,
      token,
      created_at: iso(row.createdAt)!,
      expires_at: iso(row.expiresAt),
    };
  }

  async list(caller: Principal, dto: ListApiTokensDto): Promise<ApiTokenListDto> {
    const limit = dto.pagination?.limit ?? this.config.KEYWARD_DEFAULT_PAGE_SIZE;
    let direction = dto.sorts?.[0]?.direction ?? 'desc';
    let after: KeysetPosition | undefined;
    if (dto.pagination?.cursor) {
      ({ direction, ...after } = decodeCursor(dto.pagination.cursor, {
        field: 'pagination.cursor',
        message: 'pagination.cursor is not a cursor returned by list',
        withDirection: true,
      }));
    }
    const now = new Date();
    const where: Prisma.ApiTokenWhereInput[] = [];
    if (caller.projects !== null) where.push({ scopeProjects: { hasEvery: caller.projects } });
    for (const f of dto.filters ?? []) {
      if (f.key === 'access') {
        if (f.value !== 'read' && f.value !== 'write') throw validationFailed({ filters: ['access is read or write'] });
        where.push({ access: f.value });
      } else {
        if (f.value === 'active')
          where.push({ revokedAt: null, usedAt: null, OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] });
        else if (f.value === 'revoked') where.push({ revokedAt: { not: null } });
        else if (f.value === 'expired') where.push({ revokedAt: null, expiresAt: { lte: now } });
        else throw validationFailed({ filters: ['status is active, expired or revoked'] });
      }
    }
    const rows = await this.repo.pageGlobal({ AND: where }, { limit: limit + 1, after, direction });
    const more = rows.length > limit;
    const page = rows.slice(0, limit);
    return {
      data: page.map(toApiTokenDto),
      page: { page_size: page.length, cursor: more ? encodeCursor(page[page.length - 1], direction) : null, more },
    };
  }

  async revoke(caller: Principal, id: string): Promise<ApiTokenDto> {
    const scope: Prisma.ApiTokenWhereInput =
      caller.projects === null ? { kind: 'global' } : { kind: 'global', scopeProjects: { hasEvery: caller.projects } };
    const row = await this.repo.revoke(id, scope);
    if (!row) throw ApiError.notFound('Token not found');
    return toApiTokenDto(row);
  }

  /**
   * Issues a new secret for a global token in the caller's scope (seed 004-style rotation, also used by
   * the CLI). Revoked, used and expired tokens cannot be rotated. A caller cannot rotate a token that
   * would give it more than it holds (access, permissions, projects, or an expiry past its own).
   */
  async rotate(
    caller: Principal,
    id: string,
    graceMs = 0,
    { anyKind = false }: { anyKind?: boolean } = {},
  ): Promise<RotatedTokenDto> {
    const row = anyKind ? await this.repo.findById(id) : await this.repo.findGlobalById(id);
    const isProject = row?.kind === 'project';
    const tokenProjects = row
      ? isProject
        ? [row.projectId!]
        : row.scopeProjects.length
          ? row.scopeProjects
          : null
      : null;
    const inScope =
      row &&
      (caller.projects === null ||
        (tokenProjects !== null && tokenProjects.every((p) => caller.projects!.includes(p))));
    if (!row || !inScope) throw ApiError.notFound('Token not found');
    const status = tokenStatus(row);
    if (status !== 'active') throw ApiError.conflict(`Token is ${status}: it cannot be rotated`, { status });
    if (row.removeOnUse) throw ApiError.conflict('Single-use tokens cannot be rotated');
    const expiresAt = assertCanGrant(caller, {
      access: row.access,
      permissions: row.permissions.length ? row.permissions : permissionsForAccess(row.access),
      projects: tokenProjects,
      expiresAt: row.expiresAt,
    });
    if (expiresAt?.getTime() !== row.expiresAt?.getTime()) {
      throw ApiError.forbidden('Cannot rotate a token that outlives your own');
    }
    const rotated = await this.issuer.rotate(row, graceMs);
    if (!rotated) throw ApiError.conflict('Token was rotated or revoked meanwhile: try again');
    return {
      id: rotated.row.id,
      access: rotated.row.access,
      description: rotated.row.description,
      token: rotated.token,
      created_at: iso(rotated.row.createdAt)!,
      expires_at: iso(rotated.row.expiresAt),
      previous_expires_at: iso(rotated.row.previousExpiresAt),
    };
  }
}
