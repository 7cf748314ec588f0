import { Inject, Injectable } from '@nestjs/common';
import argon2 from 'argon2';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';

/** argon2id hashing of token secrets (parameters at least OWASP's minimum, configurable). */
@Injectable()
export class PasswordHasher {
  private readonly options: argon2.Options & { raw?: false };

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.options = {
      type: argon2.argon2id,
      memoryCost: config.KEYWARD_ARGON2_MEMORY_KIB,
      timeCost: config.KEYWARD_ARGON2_TIME_COST,
      parallelism: config.KEYWARD_ARGON2_PARALLELISM,
    };
  }

  hash(secret: string): Promise<string> {
    return argon2.hash(secret, this.options);
  }

  /** False (never throws) for a malformed hash or a mismatch. */
  async verify(hash: string, secret: string): Promise<boolean> {
    try {
      return await argon2.verify(hash, secret);
    } catch {
      return false;
    }
  }

  static isArgon2Hash(value: string): boolean {
    return /^\$argon2(id|i|d)\$v=\d+\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/.test(value);
  }
}
