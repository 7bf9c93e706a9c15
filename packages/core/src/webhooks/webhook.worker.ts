import type { ErrorReporter } from '../ports.js';
import type { WebhookService } from './webhook.service.js';

export interface WebhookWorkerOptions {
  /** Names this worker's leases; unique per process. */
  owner?: string;
  /** How often the outbox is looked at when nothing wakes the worker, in ms. */
  pollMs: number;
  /** How often keys' expiry is scanned for notices, in ms. */
  expiryScanMs: number;
  /** How long finished deliveries are kept, in ms; they are pruned about once an hour. */
  retentionMs?: number | undefined;
  /** Attempts under way at once. */
  concurrency?: number;
  report: ErrorReporter;
}

const PRUNE_EVERY_MS = 3_600_000;

type Timer = ReturnType<typeof setTimeout>;

/** Timers that do not keep a Node process alive; browsers have no such thing and need none. */
function unref(timer: Timer): Timer {
  (timer as { unref?: () => void }).unref?.();
  return timer;
}

/**
 * Sends the outbox's deliveries off the request path: it claims due deliveries (leased, so
 * that each goes to one instance), attempts them a few at a time, scans keys' expiry for
 * notices now and then, and prunes old deliveries. It wakes when this instance raises an
 * event, and looks every `pollMs` for events raised elsewhere (another instance, the
 * command line) and for retries that became due. `stop` claims nothing more, waits for the
 * attempts under way and gives back anything it still holds.
 */
export class WebhookWorker {
  readonly owner: string;
  private readonly concurrency: number;
  private readonly inFlight = new Set<Promise<void>>();
  private timer: Timer | undefined;
  private dueAt = Number.POSITIVE_INFINITY;
  private running: Promise<void> | undefined;
  private again = false;
  private started = false;
  private stopping = false;
  private scannedAt = Number.NEGATIVE_INFINITY;
  private prunedAt = Number.NEGATIVE_INFINITY;
  private unsubscribe: (() => void) | undefined;
  /** Attempts started since the worker was made. */
  private attempts = 0;

  constructor(
    private readonly service: WebhookService,
    private readonly options: WebhookWorkerOptions,
  ) {
    this.owner = options.owner ?? `worker:${globalThis.crypto.randomUUID()}`;
    this.concurrency = options.concurrency ?? 8;
  }

  /** Starts working, at once. */
  start(): void {
    if (this.started || this.stopping) return;
    this.started = true;
    this.unsubscribe = this.service.outbox.onRaised(() => this.wake());
    this.schedule(0);
  }

  /** Looks at the outbox now (an event was raised here). */
  wake(): void {
    if (this.started && !this.stopping) this.schedule(0);
  }

  private schedule(ms: number): void {
    const at = Date.now() + ms;
    if (this.timer !== undefined && this.dueAt <= at) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.dueAt = at;
    this.timer = unref(
      setTimeout(() => {
        this.timer = undefined;
        this.dueAt = Number.POSITIVE_INFINITY;
        void this.tick();
      }, ms),
    );
  }

  /** One round: scan and prune when due, then claim and start attempts while there is room. */
  private async tick(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.round();
    try {
      await this.running;
    } finally {
      this.running = undefined;
      if (this.started && !this.stopping) this.schedule(this.again ? 0 : this.options.pollMs);
      this.again = false;
    }
  }

  private async round(): Promise<void> {
    try {
      const now = Date.now();
      if (now - this.scannedAt >= this.options.expiryScanMs) {
        this.scannedAt = now;
        await this.service.scanExpiry();
      }
      if (this.options.retentionMs !== undefined && now - this.prunedAt >= PRUNE_EVERY_MS) {
        this.prunedAt = now;
        await this.service.prune(this.options.retentionMs);
      }
      while (!this.stopping) {
        const room = this.concurrency - this.inFlight.size;
        if (room <= 0) return;
        const claimed = await this.service.claim(this.owner, room);
        for (const one of claimed) {
          this.attempts++;
          const attempt: Promise<void> = this.service
            .attempt(one, this.owner)
            .then(() => {})
            .catch((err: unknown) =>
              this.options.report('a webhook delivery attempt failed', {
                err,
                deliveryId: one.delivery.id,
              }),
            )
            .finally(() => {
              this.inFlight.delete(attempt);
              // Room again: more may be due.
              this.wake();
            });
          this.inFlight.add(attempt);
        }
        if (claimed.length < room) return;
      }
    } catch (err) {
      this.options.report('the webhook worker could not read the outbox', { err });
    }
  }

  /**
   * Scans keys' expiry now and attempts every delivery that is due, round after round, until
   * none is left; resolves when their attempts are recorded. For tests and the mock's
   * `flushWebhooks`. Returns how many attempts it waited for.
   */
  async flush(): Promise<number> {
    this.scannedAt = Number.NEGATIVE_INFINITY;
    let total = 0;
    for (;;) {
      const before = this.attempts;
      await this.tick();
      while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
      const made = this.attempts - before;
      total += made;
      if (made === 0) return total;
    }
  }

  /** Claims nothing more, waits for the attempts under way, and releases what it still holds. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.unsubscribe?.();
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
    await Promise.allSettled([...this.inFlight]);
    await this.service.release(this.owner);
  }
}
