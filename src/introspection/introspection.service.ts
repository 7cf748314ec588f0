import { Injectable } from '@nestjs/common';
import type { Principal } from '../access/principal.js';
import { TokenVerifier } from '../verification/token-verifier.js';
import type { IntrospectionDto, IntrospectTokenDto } from './dto/introspection.dto.js';
import { IntrospectionRepository } from './introspection.repository.js';

const INACTIVE: IntrospectionDto = { active: false };
const seconds = (d: Date) => Math.floor(d.getTime() / 1000);

/** Application scopes and owner, for principals that carry them (absent: none). */
type WithApplicationFields = Principal & { scopes?: readonly string[]; owner?: string | null };

/**
 * OAuth 2.0 token introspection (RFC 7662) over the one verification engine: a token is active when
 * the engine's verdict is VALID and the caller may see it (a token outside the caller's projects is
 * inactive, so existence does not leak). Introspection only looks: a single-use token is not consumed.
 * `scope` lists application scopes only (the token's management permissions are Keyward's own).
 */
@Injectable()
export class IntrospectionService {
  constructor(
    private readonly verifier: TokenVerifier,
    private readonly repo: IntrospectionRepository,
  ) {}

  async introspect(caller: Principal, dto: IntrospectTokenDto): Promise<IntrospectionDto> {
    const verdict = await this.verifier.check({ credential: dto.token, via: 'introspection', visibleTo: caller });
    if (verdict.code !== 'VALID' || !verdict.principal) return INACTIVE;
    const p = verdict.principal as WithApplicationFields;
    const issued = p.source === 'database' ? await this.repo.issuedAt(p.id) : null;
    const answer: IntrospectionDto = { active: true, client_id: p.id, token_type: 'Bearer' };
    if (p.scopes?.length) answer.scope = p.scopes.join(' ');
    if (p.owner) answer.sub = p.owner;
    if (p.expiresAt) answer.exp = seconds(p.expiresAt);
    if (issued) answer.iat = seconds(issued);
    return answer;
  }
}
