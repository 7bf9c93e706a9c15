import type { AttemptOutcome, DeliveryStatus } from '@latchkey/core';
import type { Insertable, Selectable } from 'kysely';

/** A webhook; `events` is a JSON array, or null for every event. */
export interface WebhookTable {
  id: string;
  name: string;
  description: string;
  url: string;
  events: string | null;
  is_active: number;
  /** The signing secret sealed with the server secret (AES-256-GCM); never the plaintext. */
  sealed_secret: string;
  sealed_previous_secret: string | null;
  previous_secret_expires_at: string | null;
  created_by: string | null;
  created_at: string;
  updated_at: string;
  disabled_reason: string | null;
}

/** The outbox: an event and the exact body signed and sent. */
export interface WebhookEventTable {
  id: string;
  type: string;
  payload: string;
  created_at: string;
}

export interface WebhookDeliveryTable {
  id: string;
  webhook_id: string;
  event_id: string;
  event_type: string;
  status: DeliveryStatus;
  attempt_count: number;
  next_attempt_at: string | null;
  lease_owner: string | null;
  lease_until: string | null;
  created_at: string;
  completed_at: string | null;
}

export interface WebhookAttemptTable {
  id: string;
  delivery_id: string;
  number: number;
  at: string;
  duration_ms: number;
  status_code: number | null;
  outcome: AttemptOutcome;
  error: string | null;
  response_body: string | null;
}

/** A notice about a key's expiry already raised (kind `expired` or `expiring:<days>d`). */
export interface KeyExpiryNoticeTable {
  key_id: string;
  kind: string;
  expires_at: string;
  created_at: string;
}

export type WebhookRow = Selectable<WebhookTable>;
export type NewWebhookRow = Insertable<WebhookTable>;
export type WebhookDeliveryRow = Selectable<WebhookDeliveryTable>;
export type WebhookAttemptRow = Selectable<WebhookAttemptTable>;
