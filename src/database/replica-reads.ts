import type pg from 'pg';

/** A WAL position (`16/B374D848`) as a number that compares. */
function parseLsn(lsn: string | null | undefined): bigint {
  if (!lsn) return 0n;
  const [hi, lo] = lsn.split('/');
  if (hi === undefined || lo === undefined) return 0n;
  return (BigInt(`0x${hi}`) << 32n) + BigInt(`0x${lo}`);
}

/** A watermark no replica reaches: every read goes to the primary. */
const NEVER = 1n << 64n;

/** Tokens remembered one by one; past this, one watermark stands for all of them. */
const MAX_TRACKED = 100_000;

/**
 * Reads from streaming replicas (DATABASE_REPLICA_URLS) that never undo a change this instance has
 * been told of. Every token change notice (`changed(id)`, from the change listener, which hears it
 * after the change committed on the primary) marks the token, then asks the primary for its current
 * WAL position: that position covers the change. A replica read first takes the replica's replay
 * position, then runs the statement (its snapshot sees at least what was replayed before it); when
 * a returned token changed at a position the replica had not replayed yet, or its position is still
 * being fetched, the caller reads the primary instead. A replica that fails, or returns nothing, also
 * sends the caller to the primary.
 */
export class ReplicaReads {
  private readonly changedAt = new Map<string, bigint>();
  private readonly pending = new Set<string>();
  /**
   * Every token: a replica must have replayed this much. Unbounded until the change listener is
   * listening (`resume`), and again whenever it is lost (`suspend`): notices may be missed meanwhile.
   */
  private watermark = NEVER;
  private lastPrune = 0;
  /** Bumped by `suspend`: a `resume` begun before it does not lift it. */
  private session = 0;
  private fetching = false;
  private again = false;
  private turn = 0;
  private readonly replayed: bigint[];
  readonly stats = { replica: 0, primary: 0 };

  constructor(
    private readonly replicas: pg.Pool[],
    /** The primary's current WAL position (`pg_current_wal_lsn()`). */
    private readonly primaryLsn: () => Promise<string>,
  ) {
    this.replayed = replicas.map(() => 0n);
  }

  get enabled(): boolean {
    return this.replicas.length > 0;
  }

  /** The change listener is lost: a notice may be missed, so no replica is trusted until `resume`. */
  suspend(): void {
    this.session++;
    this.watermark = NEVER;
  }

  /**
   * The change listener listens again: every change committed from now on will be noticed, and the
   * replicas are trusted once they replayed what the primary holds now.
   */
  async resume(): Promise<void> {
    if (!this.enabled) return;
    const session = this.session;
    try {
      const lsn = parseLsn(await this.primaryLsn());
      if (session === this.session) this.watermark = lsn;
    } catch {
      /* stays suspended until the next resume */
    }
  }

  /** A token changed on the primary (a change notice arrived). */
  changed(id: string): void {
    if (!this.enabled) return;
    this.pending.add(id);
    this.changedAt.delete(id);
    void this.fetchPosition();
  }

  private async fetchPosition(): Promise<void> {
    if (this.fetching) {
      this.again = true;
      return;
    }
    this.fetching = true;
    try {
      do {
        this.again = false;
        const ids = [...this.pending];
        let lsn: bigint;
        try {
          lsn = parseLsn(await this.primaryLsn());
        } catch {
          // Left pending: their reads go to the primary; the next notice or read retries.
          return;
        }
        for (const id of ids) {
          if (this.pending.delete(id)) this.changedAt.set(id, lsn);
        }
        if (this.changedAt.size > MAX_TRACKED) {
          for (const v of this.changedAt.values()) if (v > this.watermark) this.watermark = v;
          this.changedAt.clear();
        }
      } while (this.again || this.pending.size > 0);
    } finally {
      this.fetching = false;
    }
  }

  /**
   * Runs `text` on the next replica. Null (read the primary) when there is none, it fails, it returns
   * no row, or a returned row (`idOf`) changed after what the replica had replayed.
   */
  async read<T extends Record<string, unknown>>(
    text: string,
    params: unknown[],
    idOf: (row: T) => string | null,
  ): Promise<T[] | null> {
    if (!this.enabled) return null;
    const index = this.turn++ % this.replicas.length;
    let rows: T[];
    let replay: bigint;
    try {
      const client = await this.replicas[index]!.connect();
      try {
        const position = await client.query<{ lsn: string }>('SELECT pg_last_wal_replay_lsn()::text AS lsn');
        replay = parseLsn(position.rows[0]?.lsn);
        rows = (await client.query<T>(text, params)).rows;
      } finally {
        client.release();
      }
    } catch {
      this.stats.primary++;
      return null;
    }
    this.noteReplayed(index, replay);
    const stale =
      rows.length === 0 ||
      replay < this.watermark ||
      rows.some((row) => {
        const id = idOf(row);
        if (id === null) return false;
        if (this.pending.has(id)) return true;
        const at = this.changedAt.get(id);
        return at !== undefined && at > replay;
      });
    if (stale) {
      if (this.pending.size) void this.fetchPosition();
      this.stats.primary++;
      return null;
    }
    this.stats.replica++;
    return rows;
  }

  /** Forgets changes every replica has replayed. */
  private noteReplayed(index: number, replay: bigint): void {
    if (replay <= this.replayed[index]!) return;
    this.replayed[index] = replay;
    const now = Date.now();
    if (now - this.lastPrune < 500) return;
    this.lastPrune = now;
    const everywhere = this.replayed.reduce((a, b) => (a < b ? a : b));
    if (this.changedAt.size === 0 || everywhere === 0n) return;
    for (const [id, at] of this.changedAt) if (at <= everywhere) this.changedAt.delete(id);
  }
}
