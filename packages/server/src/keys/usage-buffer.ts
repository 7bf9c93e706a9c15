import type { UsageEntry, UsageRecorder } from '@latchkey/core';

export type { UsageEntry } from '@latchkey/core';

/**
 * Keeps the last use of each key in memory and writes them in batches, so that
 * authenticating a request never writes to the database.
 */
export class UsageBuffer implements UsageRecorder {
  /** Last use per key id: when (ms since the epoch; made a string only when written) and from where. */
  private pending = new Map<string, { atMs: number; ip: string }>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  /** Entries of the batch being written now. */
  private writing = 0;

  constructor(
    private readonly write: (entries: UsageEntry[]) => Promise<void>,
    private readonly onError: (error: unknown) => void,
    /** Releases what the writer holds (its thread), after the last flush. */
    private readonly closeWriter: () => Promise<void> = async () => {},
  ) {}

  /** Key uses not yet in the database: waiting, or in the batch being written (read by the metrics). */
  get backlog(): number {
    return this.pending.size + this.writing;
  }

  record(keyId: string, ip: string, at: number = Date.now()): void {
    this.pending.set(keyId, { atMs: at, ip });
  }

  /**
   * Takes uses another process buffered (a worker of `latchkey serve --workers N`), keeping
   * the later one when this buffer holds the key already.
   */
  merge(entries: readonly UsageEntry[]): void {
    for (const e of entries) {
      const atMs = Date.parse(e.at);
      if (Number.isNaN(atMs)) continue;
      const held = this.pending.get(e.id);
      if (!held || held.atMs <= atMs) this.pending.set(e.id, { atMs, ip: e.ip });
    }
  }

  start(intervalMs: number): void {
    this.timer = setInterval(() => void this.flush(), intervalMs);
    this.timer.unref();
  }

  /** Writes what is pending; concurrent calls wait for one another. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      if (this.pending.size === 0) return;
      const batch = [...this.pending].map(([id, v]) => ({
        id,
        at: new Date(v.atMs).toISOString(),
        ip: v.ip,
      }));
      this.pending = new Map();
      this.writing = batch.length;
      try {
        await this.write(batch);
      } catch (err) {
        this.onError(err);
      } finally {
        this.writing = 0;
      }
    });
    return this.flushing;
  }

  /** Writes what is pending, then closes the writer. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
    try {
      await this.closeWriter();
    } catch (err) {
      this.onError(err);
    }
  }
}
