import { DatabaseDownError, isDatabaseUnavailable } from '../common/errors/database-errors.js';

export interface AvailabilityLogger {
  warn(message: string): void;
  log(message: string): void;
}

/**
 * Whether PostgreSQL answers, as a small circuit breaker in front of the pool.
 *
 * An error that says "unreachable" (refused, dropped, timed out) triggers one probe on a fresh
 * connection; if the probe fails too, the database is marked down: one log line, and from then on
 * requests that need the database fail at once with DatabaseDownError (a 503) instead of each
 * waiting for its own timeout. While down, a probe runs every `probeEvery` ms; the first one that
 * succeeds marks it up again (one log line). No restart is needed, and no error is logged per request.
 */
export class DatabaseAvailability {
  private downSince: number | null = null;
  private probing = false;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly probe: () => Promise<void>,
    private readonly logger: AvailabilityLogger,
    private readonly probeEvery = 1000,
  ) {}

  get available(): boolean {
    return this.downSince === null;
  }

  /** Throws DatabaseDownError while the database is known to be down. */
  assertAvailable(): void {
    if (this.downSince !== null) throw new DatabaseDownError();
  }

  /** Every error a connection attempt or a query raised comes through here. */
  report(err: unknown): void {
    if (this.closed || this.downSince !== null || this.probing || !isDatabaseUnavailable(err)) return;
    this.probing = true;
    this.probe().then(
      () => {
        this.probing = false;
      },
      (probeError: unknown) => {
        this.probing = false;
        if (this.closed || this.downSince !== null) return;
        this.downSince = Date.now();
        this.logger.warn(
          `database unreachable (${errorSummary(probeError)}); requests that need it get 503 until it answers again`,
        );
        this.schedule();
      },
    );
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => void this.recheck(), this.probeEvery);
    this.timer.unref();
  }

  private async recheck(): Promise<void> {
    this.timer = null;
    try {
      await this.probe();
    } catch {
      this.schedule();
      return;
    }
    if (this.closed || this.downSince === null) return;
    const seconds = ((Date.now() - this.downSince) / 1000).toFixed(1);
    this.downSince = null;
    this.logger.log(`database reachable again after ${seconds} s`);
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
  }
}

/** One short reason, without a stack: the error's code and first line. */
export function errorSummary(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as { code?: unknown }).code;
  const line = err.message.split('\n')[0]!.slice(0, 200);
  return typeof code === 'string' && !line.includes(code) ? `${code}: ${line}` : line;
}
