import type { WebhookEventType } from './webhook-events.js';

/**
 * An outbound webhook as the rules see it. The signing secrets are kept sealed with the
 * server secret (they must be read again to sign) and never leave the service.
 */
export interface WebhookRecord {
  id: string;
  name: string;
  description: string;
  url: string;
  /** The event types it receives; null for every type. */
  events: WebhookEventType[] | null;
  is_active: boolean;
  /** The signing secret (`whsec_…`), sealed. */
  sealed_secret: string;
  /** The secret before the last rotation, sealed; it signs too until `previous_secret_expires_at`. */
  sealed_previous_secret: string | null;
  previous_secret_expires_at: string | null;
  /** The user who created it; null when the command line did. */
  created_by: string | null;
  created_at: string;
  updated_at: string;
  /** Why it was switched off by Latchkey (a 410 from the receiver); null otherwise. */
  disabled_reason: string | null;
}

/** The fields of a webhook that change after creation. */
export type WebhookChange = Partial<
  Pick<
    WebhookRecord,
    | 'name'
    | 'description'
    | 'url'
    | 'events'
    | 'is_active'
    | 'sealed_secret'
    | 'sealed_previous_secret'
    | 'previous_secret_expires_at'
    | 'updated_at'
    | 'disabled_reason'
  >
>;

/** The public shape of a webhook: never a secret, sealed or not. */
export interface WebhookView {
  id: string;
  name: string;
  description: string;
  url: string;
  events: WebhookEventType[] | null;
  is_active: boolean;
  created_by: string | null;
  created_at: string;
  updated_at: string;
  disabled_reason: string | null;
  /** Until when the secret before the last rotation signs too; null when it does not. */
  previous_secret_expires_at: string | null;
}

export function toWebhookView(webhook: WebhookRecord): WebhookView {
  return {
    id: webhook.id,
    name: webhook.name,
    description: webhook.description,
    url: webhook.url,
    events: webhook.events ? [...webhook.events] : null,
    is_active: webhook.is_active,
    created_by: webhook.created_by,
    created_at: webhook.created_at,
    updated_at: webhook.updated_at,
    disabled_reason: webhook.disabled_reason,
    previous_secret_expires_at: webhook.previous_secret_expires_at,
  };
}

/** One event as it was raised: its Standard Webhooks message id and the exact body sent. */
export interface WebhookEventRecord {
  /** `msg_…`: the `webhook-id` of every delivery of this event, retries included. */
  id: string;
  type: WebhookEventType | 'webhook.test';
  /** The JSON body, as signed and sent. */
  payload: string;
  created_at: string;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

/** One event on its way to one webhook. */
export interface DeliveryRecord {
  id: string;
  webhook_id: string;
  event_id: string;
  event_type: WebhookEventRecord['type'];
  status: DeliveryStatus;
  /** Attempts made so far. */
  attempt_count: number;
  /** When the next attempt is due; null once delivered or failed. */
  next_attempt_at: string | null;
  /** The instance that holds it while sending, and until when (a lease). */
  lease_owner: string | null;
  lease_until: string | null;
  created_at: string;
  /** When it was delivered or given up. */
  completed_at: string | null;
}

/** How an attempt ended. */
export type AttemptOutcome =
  | 'delivered'
  /** The receiver answered, but not with a 2xx (a redirect included: none is followed). */
  | 'http_error'
  /** No answer: refused connection, reset, TLS failure, a name that does not resolve. */
  | 'network_error'
  | 'timeout'
  /** The target is not allowed (it resolves to a private address, for example); nothing was sent. */
  | 'refused'
  /** The signing secret could not be read (the server secret changed); nothing was sent. */
  | 'unsigned';

export interface AttemptRecord {
  id: string;
  delivery_id: string;
  /** 1 for the first attempt. */
  number: number;
  at: string;
  duration_ms: number;
  status_code: number | null;
  outcome: AttemptOutcome;
  error: string | null;
  /** The start of the receiver's answer, truncated. */
  response_body: string | null;
}

/** A delivery with its event's body and its attempts, oldest first. */
export interface DeliveryWithAttempts extends DeliveryRecord {
  /** The event's JSON body, as sent. */
  payload: string;
  attempts: AttemptRecord[];
}

/** A delivery claimed for sending, with what is needed to send it. */
export interface ClaimedDelivery {
  delivery: DeliveryRecord;
  webhook: WebhookRecord;
  event: WebhookEventRecord;
}

/** The public shape of a delivery. */
export type DeliveryView = Omit<DeliveryRecord, 'lease_owner' | 'lease_until'> & {
  /** The event as sent. */
  payload: unknown;
  attempts: Omit<AttemptRecord, 'id' | 'delivery_id'>[];
};

export function toDeliveryView(delivery: DeliveryWithAttempts): DeliveryView {
  return {
    id: delivery.id,
    webhook_id: delivery.webhook_id,
    event_id: delivery.event_id,
    event_type: delivery.event_type,
    status: delivery.status,
    attempt_count: delivery.attempt_count,
    next_attempt_at: delivery.next_attempt_at,
    created_at: delivery.created_at,
    completed_at: delivery.completed_at,
    payload: JSON.parse(delivery.payload),
    attempts: delivery.attempts.map((a) => ({
      number: a.number,
      at: a.at,
      duration_ms: a.duration_ms,
      status_code: a.status_code,
      outcome: a.outcome,
      error: a.error,
      response_body: a.response_body,
    })),
  };
}
