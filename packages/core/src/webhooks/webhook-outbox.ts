import { isoAt } from '../keys/key.rules.js';
import type { Clock } from '../ports.js';
import type { Store } from '../store/store.js';
import type { DeliveryRecord, WebhookEventRecord } from './webhook.record.js';
import { eventBody, subscribes, type WebhookEventData } from './webhook-events.js';

/** A new Standard Webhooks message id: `msg_` and 32 hex digits. */
export function newMessageId(): string {
  return `msg_${globalThis.crypto.randomUUID().replace(/-/g, '')}`;
}

/**
 * The outbox: services raise events here, inside the transaction of the change, so that an
 * event is stored exactly when its change is. Each event gets one delivery per active
 * webhook that subscribes to it; nothing is stored when none does.
 */
export class WebhookOutbox {
  /** Told after a commit that stored deliveries (the worker of this instance wakes up). */
  private readonly listeners = new Set<() => void>();

  constructor(private readonly clock: Clock) {}

  /** Calls `listener` after each commit that stored deliveries; returns how to stop. */
  onRaised(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Stores the event and its deliveries through `tx`; returns how many deliveries. */
  async raise<T extends keyof WebhookEventData>(
    tx: Store,
    type: T,
    data: WebhookEventData[T],
  ): Promise<number> {
    const targets = (await tx.webhooks.listActive()).filter((w) => subscribes(w.events, type));
    if (!targets.length) return 0;
    const at = isoAt(this.clock());
    // Deliveries run on the wall clock (see WebhookService): due now, whatever the rules' clock says.
    const due = isoAt(Date.now());
    const event: WebhookEventRecord = {
      id: newMessageId(),
      type,
      payload: eventBody(type, at, data),
      created_at: at,
    };
    const deliveries: DeliveryRecord[] = targets.map((webhook) => ({
      id: globalThis.crypto.randomUUID(),
      webhook_id: webhook.id,
      event_id: event.id,
      event_type: type,
      status: 'pending',
      attempt_count: 0,
      next_attempt_at: due,
      lease_owner: null,
      lease_until: null,
      created_at: due,
      completed_at: null,
    }));
    await tx.webhooks.insertEvent(event, deliveries);
    this.notifyAfterCommit(tx);
    return deliveries.length;
  }

  /** Tells the listeners once `tx` commits: deliveries are waiting. */
  notifyAfterCommit(tx: Store): void {
    tx.afterCommit(() => {
      for (const listener of this.listeners) listener();
    });
  }
}
