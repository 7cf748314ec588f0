import { Injectable } from '@nestjs/common';
import type { Principal } from '../access/principal.js';
import { TokenVerifier, verifyResultJson } from './token-verifier.js';
import type { VerifyTokenDto } from './dto/verify.dto.js';

/**
 * `POST /v1/tokens/verify`: how other services delegate their token checks. Always 200 with a verdict
 * (Unkey's convention), from the same engine the guard uses. A token outside the caller's own scope
 * is reported NOT_FOUND, so existence does not leak. A single-use token is consumed only by a VALID
 * verdict. The caller is the service asking, not the token's holder: the token is throttled per
 * credential only, and its failures are not failed authentications of the caller.
 */
@Injectable()
export class VerificationService {
  constructor(private readonly verifier: TokenVerifier) {}

  /** The verdict as the JSON text of a VerifyResultDto (see verifyResultJson). */
  async verify(caller: Principal, dto: VerifyTokenDto): Promise<string> {
    const verification = await this.verifier.check({
      credential: dto.token,
      via: 'verify_api',
      permission: dto.permission,
      project: dto.project,
      scopes: dto.scopes,
      consume: true,
      visibleTo: caller,
    });
    return verifyResultJson(verification);
  }
}
