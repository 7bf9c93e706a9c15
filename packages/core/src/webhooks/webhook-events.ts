// The events Latchkey sends to webhooks and what each one's `data` holds. Every builder
// here picks fields one by one, so that a key, a digest, a sealed value or a password hash
// can never reach a payload by accident.
import type { KeyRecord } from '../keys/key.record.js';
import { toUserView, type UserRecord, type UserView } from '../users/user.record.js';

/** The event types a webhook can subscribe to. */
export const WEBHOOK_EVENT_TYPES = [
  'key.created',
  'key.updated',
  'key.rotated',
  'key.activated',
  'key.deactivated',
  'key.deleted',
  'key.expiring',
  'key.expired',
  'user.created',
  'user.updated',
  'user.deleted',
  'user.password_changed',
  'auth.locked_out',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** The event `POST /api/v1/webhooks/{id}/test` sends; no webhook subscribes to it. */
export const TEST_EVENT_TYPE = 'webhook.test';

/** A key as events describe it: never the key itself or its digest. */
export interface KeyEventData {
  id: string;
  name: string;
  /** The visible start of the key. */
  start: string;
  owner: { id: string; username: string };
  expires_at: string | null;
  is_active: boolean;
  write_enabled: boolean;
  created_via: KeyRecord['created_via'];
}

/** A user as events describe it: never the password or its hash. */
/** A user as the API shows it, without when it was created. */
export type UserEventData = Omit<UserView, 'created_at'>;

/** What each event's `data` holds. */
export interface WebhookEventData {
  'key.created': KeyEventData;
  'key.updated': KeyEventData & { changes: string[] };
  'key.rotated': KeyEventData & { replaced_by: { id: string; start: string }; grace_seconds: number };
  'key.activated': KeyEventData;
  'key.deactivated': KeyEventData;
  'key.deleted': KeyEventData;
  'key.expiring': KeyEventData & { threshold_days: number };
  'key.expired': KeyEventData;
  'user.created': UserEventData;
  'user.updated': UserEventData & { changes: string[] };
  'user.deleted': UserEventData;
  'user.password_changed': UserEventData & { by_administrator: boolean };
  'auth.locked_out': { address: string; locked_until: string; failures: number };
  'webhook.test': { webhook_id: string; message: string };
}

/** One event as a receiver gets it. */
export interface WebhookPayload<T extends keyof WebhookEventData = keyof WebhookEventData> {
  type: T;
  /** When it happened, RFC 3339. */
  timestamp: string;
  data: WebhookEventData[T];
}

/** The event data of a key, given its owner. */
export function keyEventData(key: KeyRecord, owner: Pick<UserRecord, 'id' | 'username'>): KeyEventData {
  return {
    id: key.id,
    name: key.name,
    start: key.start,
    owner: { id: owner.id, username: owner.username },
    expires_at: key.expires_at,
    is_active: key.is_active,
    write_enabled: key.write_enabled,
    created_via: key.created_via,
  };
}

/** The event data of a user: its public view, picked field by field there, without `created_at`. */
export function userEventData(user: UserRecord): UserEventData {
  const { created_at: _created, ...data } = toUserView(user);
  return data;
}

/** The JSON body of an event, exactly as it is signed and sent. */
export function eventBody<T extends keyof WebhookEventData>(
  type: T,
  timestamp: string,
  data: WebhookEventData[T],
): string {
  const payload: WebhookPayload<T> = { type, timestamp, data };
  return JSON.stringify(payload);
}

/** True when a webhook with these subscriptions (null: all) receives events of `type`. */
export function subscribes(events: readonly string[] | null, type: string): boolean {
  return events === null || events.includes(type);
}
