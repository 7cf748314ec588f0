import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { AuditService } from '../audit/audit.service.js';
import { ApiError } from '../common/errors/api-error.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import { TokensRepository } from '../tokens/tokens.repository.js';
import { TokenCodec } from '../verification/token-codec.js';
import { TokenEventsService } from '../verification/token-events.service.js';
import { TokenVerifier } from '../verification/token-verifier.js';
import type { LeakReportReceivedDto, RevokeLeakedTokensDto } from './dto/leaks.dto.js';

/**
 * Leaked-token reports (`POST /v1/tokens/revoke-leaked`, no credential needed, as GitHub's credential
 * revocation API): every reported string that is a Keyward token is revoked with its tree, audited as
 * `token.leaked` (reporter address, source URL) and announced to webhooks.
 *
 * The answer is the same whatever the strings were, and comes before any check: the checks run after
 * it, so neither its content nor its timing tells which strings were valid. Reports are limited per
 * client address (KEYWARD_LEAK_REPORT_LIMIT strings per KEYWARD_THROTTLE_WINDOW); strings that are not
 * well-formed Keyward tokens are dropped by their checksum, and well-formed ones go through the one
 * verification engine, where an unknown lookup id costs one indexed read and no argon2.
 */
@Injectable()
export class LeakedTokensService implements OnModuleDestroy {
  private readonly logger = new Logger('LeakReports');
  private readonly limiter: RateLimiterMemory;
  private readonly pending = new Set<Promise<void>>();
  /** Reported strings and revoked tokens since start (read by the metrics). */
  readonly stats = { reports: 0, strings: 0, revoked: 0, throttled: 0 };

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly codec: TokenCodec,
    private readonly verifier: TokenVerifier,
    private readonly tokens: TokensRepository,
    private readonly audit: AuditService,
    private readonly events: TokenEventsService,
  ) {
    this.limiter = new RateLimiterMemory({
      keyPrefix: 'leaks',
      points: config.KEYWARD_LEAK_REPORT_LIMIT,
      duration: Math.max(1, Math.ceil(config.KEYWARD_THROTTLE_WINDOW / 1000)),
    });
  }

  async onModuleDestroy(): Promise<void> {
    await this.settled();
  }

  /** Waits for the reports received so far to be processed (tests, shutdown). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }

  async report(dto: RevokeLeakedTokensDto, reporter: string | null): Promise<LeakReportReceivedDto> {
    try {
      await this.limiter.consume(reporter ?? 'unknown', dto.tokens.length);
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
      this.stats.throttled++;
      throw ApiError.rateLimited('Too many leaked-token reports from this address: try again later', err.msBeforeNext);
    }
    this.stats.reports++;
    this.stats.strings += dto.tokens.length;
    const work = this.process([...new Set(dto.tokens)], reporter, dto.source_url ?? null)
      .catch((err: Error) => this.logger.error(`a leaked-token report was not fully processed: ${err.message}`))
      .finally(() => this.pending.delete(work));
    this.pending.add(work);
    return { received: dto.tokens.length };
  }

  private async process(strings: string[], reporter: string | null, sourceUrl: string | null): Promise<void> {
    for (const presented of strings) {
      // Only database tokens can be revoked; anything failing the checksum is not one (no I/O at all).
      if (!this.codec.parse(presented)) continue;
      // Throttled per credential by the engine; the per-address limit was taken for the whole report.
      const verdict = await this.verifier.check({ credential: presented, via: 'leak_report' });
      const p = verdict.principal;
      if (!p || p.source !== 'database') continue;
      const revoked = await this.tokens.revokeTree(p.id);
      // Processed (`settled()`) means this instance's cache no longer serves them either.
      await this.events.ownChangesApplied();
      this.stats.revoked += revoked.length;
      await this.audit.recordRevocation(
        {
          action: 'token.leaked',
          actor: 'anonymous',
          target: { type: 'token', id: p.id, projectId: p.projects?.length === 1 ? p.projects[0] : null },
          details: { reporter_address: reporter, source_url: sourceUrl, verdict: verdict.code },
        },
        revoked,
      );
    }
  }
}
