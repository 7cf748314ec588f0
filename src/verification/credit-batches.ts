import type { UsageRepository } from './usage.repository.js';

interface Waiter {
  resolve(left: number | null): void;
  reject(err: unknown): void;
}

/**
 * Usage credits taken in batches: one statement (one commit) takes the credits of every pass that
 * arrived while the previous statement was running, per token all or none (`takeCredits`). A token
 * that has fewer credits left than its passes asked for gives them one pass at a time (`takeCredit`),
 * so passes never take more credits than there are, on any number of instances. A lone pass is one
 * statement, as before; under load the writes per pass fall with the concurrency.
 */
export class CreditBatches {
  private queued = new Map<string, Waiter[]>();
  private running = false;

  constructor(private readonly usage: UsageRepository) {}

  /** Takes one credit of token `id`: the credits left after it, or null when none was left. */
  take(id: string): Promise<number | null> {
    return new Promise((resolve, reject) => {
      const waiters = this.queued.get(id);
      if (waiters) waiters.push({ resolve, reject });
      else this.queued.set(id, [{ resolve, reject }]);
      if (!this.running) void this.run();
    });
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (this.queued.size) {
        const batch = this.queued;
        this.queued = new Map();
        await this.settle(batch);
      }
    } finally {
      this.running = false;
    }
  }

  private async settle(batch: Map<string, Waiter[]>): Promise<void> {
    const ids = [...batch.keys()];
    let taken: Map<string, number>;
    try {
      taken = await this.usage.takeCredits(
        ids,
        ids.map((id) => batch.get(id)!.length),
      );
    } catch (err) {
      for (const waiters of batch.values()) for (const w of waiters) w.reject(err);
      return;
    }
    for (const [id, waiters] of batch) {
      const left = taken.get(id);
      if (left !== undefined) {
        // The first pass of the batch sees the most credits left, the last one what is left now.
        waiters.forEach((w, i) => w.resolve(left + waiters.length - 1 - i));
      } else if (waiters.length === 1) {
        waiters[0].resolve(null); // asked for one and none was left
      } else {
        // Fewer left than asked: one statement per pass, so exactly the credits left are given.
        for (const w of waiters) this.usage.takeCredit(id).then(w.resolve, w.reject);
      }
    }
  }
}
