import { Inject, Injectable } from '@nestjs/common';
import argon2 from 'argon2';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';

/** argon2id hashing of token secrets (parameters at least OWASP's minimum, configurable). */
@Injectable()
export class PasswordHasher {
  private readonly options: argon2.Options & { raw?: false };
  private running = 0;
  /** Told the duration of every argon2 call, in seconds (the metrics module listens). */
  readonly timings = new Set<(op: 'hash' | 'verify', seconds: number) => void>();

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.options = {
      type: argon2.argon2id,
      memoryCost: config.KEYWARD_ARGON2_MEMORY_KIB,
      timeCost: config.KEYWARD_ARGON2_TIME_COST,
      parallelism: config.KEYWARD_ARGON2_PARALLELISM,
    };
  }

  hash(secret: string): Promise<string> {
    return this.timed('hash', () => argon2.hash(secret, this.options));
  }

  /** False (never throws) for a malformed hash or a mismatch. */
  async verify(hash: string, secret: string): Promise<boolean> {
    try {
      return await this.timed('verify', () => argon2.verify(hash, secret));
    } catch {
      return false;
    }
  }

  /** argon2 computations running now. */
  get inFlight(): number {
    return this.running;
  }

  /** argon2 computations waiting for a slot: none, every call starts at once. */
  get queueDepth(): number {
    return 0;
  }

  private async timed<T>(op: 'hash' | 'verify', run: () => Promise<T>): Promise<T> {
    const started = process.hrtime.bigint();
    this.running++;
    try {
      return await run();
    } finally {
      this.running--;
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      for (const listener of this.timings) listener(op, seconds);
    }
  }

  static isArgon2Hash(value: string): boolean {
    return /^\$argon2(id|i|d)\$v=\d+\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/.test(value);
  }
}
