import { Inject, Injectable } from '@nestjs/common';
import argon2 from 'argon2';
import pLimit, { type LimitFunction } from 'p-limit';
import { ApiError } from '../common/errors/api-error.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';

/** Counters for a metrics exporter (and the tests): monotonic totals and current gauges. */
export interface HasherStats {
  /** argon2 computations started (hash + verify). */
  calls: number;
  verifies: number;
  hashes: number;
  /** Running now / waiting now. */
  active: number;
  queued: number;
  /** Refused with 503 because the queue was full. */
  rejected: number;
}

/**
 * argon2id hashing of token secrets (parameters at least OWASP's minimum, configurable). Every
 * computation goes through one bounded queue: at most KEYWARD_ARGON2_CONCURRENCY run at once and at
 * most KEYWARD_ARGON2_QUEUE wait; past that the request gets 503 with Retry-After at once, instead of
 * everyone's latency growing without bound.
 */
@Injectable()
export class PasswordHasher {
  private readonly options: argon2.Options & { raw?: false };
  private readonly limit: LimitFunction;
  private readonly maxQueued: number;
  private running = 0;
  private readonly counters = { verifies: 0, hashes: 0, rejected: 0 };
  /** Told the duration of every argon2 call, in seconds (the metrics module listens). */
  readonly timings = new Set<(op: 'hash' | 'verify', seconds: number) => void>();

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.options = {
      type: argon2.argon2id,
      memoryCost: config.KEYWARD_ARGON2_MEMORY_KIB,
      timeCost: config.KEYWARD_ARGON2_TIME_COST,
      parallelism: config.KEYWARD_ARGON2_PARALLELISM,
    };
    this.limit = pLimit(config.KEYWARD_ARGON2_CONCURRENCY);
    this.maxQueued = config.KEYWARD_ARGON2_QUEUE;
  }

  hash(secret: string): Promise<string> {
    return this.run('hash', () => argon2.hash(secret, this.options));
  }

  /** False (never throws) for a malformed hash or a mismatch; a 503 ApiError when the queue is full. */
  verify(hash: string, secret: string): Promise<boolean> {
    return this.run('verify', () => argon2.verify(hash, secret).catch(() => false));
  }

  /** argon2 computations running now. */
  get inFlight(): number {
    return this.running;
  }

  /** argon2 computations waiting for a slot (at most KEYWARD_ARGON2_QUEUE). */
  get queueDepth(): number {
    return this.limit.pendingCount;
  }

  get stats(): HasherStats {
    return {
      calls: this.counters.verifies + this.counters.hashes,
      verifies: this.counters.verifies,
      hashes: this.counters.hashes,
      active: this.running,
      queued: this.limit.pendingCount,
      rejected: this.counters.rejected,
    };
  }

  private run<T>(op: 'hash' | 'verify', work: () => Promise<T>): Promise<T> {
    if (this.limit.activeCount + this.limit.pendingCount >= this.limit.concurrency + this.maxQueued) {
      this.counters.rejected++;
      return Promise.reject(ApiError.unavailable('Too many token checks in progress: try again shortly', 1000));
    }
    return this.limit(async () => {
      if (op === 'hash') this.counters.hashes++;
      else this.counters.verifies++;
      const started = process.hrtime.bigint();
      this.running++;
      try {
        return await work();
      } finally {
        this.running--;
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        for (const listener of this.timings) listener(op, seconds);
      }
    });
  }

  static isArgon2Hash(value: string): boolean {
    return /^\$argon2(id|i|d)\$v=\d+\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/.test(value);
  }
}
