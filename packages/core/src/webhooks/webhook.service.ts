import { ApiError } from '../api-error.js';
import { type Actor, SYSTEM_ACTOR } from '../audit/audit.record.js';
import type { AuditService } from '../audit/audit.service.js';
import { isoAt } from '../keys/key.rules.js';
import type { ServiceDeps } from '../services.js';
import type { DeliveryChange, Page, PageOf, Store } from '../store/store.js';
import type {
  AttemptOutcome,
  AttemptRecord,
  ClaimedDelivery,
  DeliveryRecord,
  DeliveryStatus,
  DeliveryWithAttempts,
  WebhookChange,
  WebhookEventRecord,
  WebhookRecord,
} from './webhook.record.js';
import { type DeliveryDecision, decideAfterAttempt, outcomeOfStatus, truncateBody } from './webhook.rules.js';
import {
  eventBody,
  keyEventData,
  TEST_EVENT_TYPE,
  WEBHOOK_EVENT_TYPES,
  type WebhookEventType,
} from './webhook-events.js';
import { newMessageId, type WebhookOutbox } from './webhook-outbox.js';
import { generateWebhookSecret, signatureHeaders } from './webhook-signature.js';
import { resolveWebhookTarget, type TargetPolicy } from './webhook-target.js';

export interface WebhookInput {
  name: string;
  url: string;
  description?: string | undefined;
  /** The event types to receive; left out or null for every type. */
  events?: readonly WebhookEventType[] | null | undefined;
  is_active?: boolean | undefined;
}

export interface WebhookPatch {
  name?: string | undefined;
  url?: string | undefined;
  description?: string | undefined;
  events?: readonly WebhookEventType[] | null | undefined;
  is_active?: boolean | undefined;
}

export interface WebhookWithSecret {
  webhook: WebhookRecord;
  /** The signing secret, shown this once. */
  secret: string;
}

/** What `User-Agent` webhook requests carry. */
export const WEBHOOK_USER_AGENT = 'Latchkey-Webhooks/1.0';
/** The default grace of the old secret after a rotation, in seconds. */
export const DEFAULT_SECRET_GRACE_S = 86_400;

const DAY_MS = 86_400_000;
/** Keys looked at per kind of notice and scan; a later scan takes the rest. */
const SCAN_LIMIT = 500;
const TEST_MESSAGE = 'A test event from Latchkey; nothing changed.';

function webhookNotFound(id: string): ApiError {
  return new ApiError('WEBHOOK_NOT_FOUND', `No webhook with id ${id}.`);
}

/** The event types in their documented order, each once; null for all. */
function normaliseEvents(events: readonly WebhookEventType[] | null | undefined): WebhookEventType[] | null {
  if (events === null || events === undefined) return null;
  return WEBHOOK_EVENT_TYPES.filter((t) => events.includes(t));
}

/** A URL as logs may show it: its origin only, since a path or query can carry a receiver's token. */
export function describeUrl(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(not a URL)';
  }
}

const describeEvents = (events: readonly string[] | null) =>
  events === null ? 'all events' : events.join(', ');

/** The days before expiry at which `key.expiring` is sent: the setting and 1, largest first. */
export function expiryThresholds(days: number): number[] {
  return [...new Set([days, 1])].sort((a, b) => b - a);
}

const expiringKind = (days: number) => `expiring:${days}d`;

interface Sent {
  outcome: AttemptOutcome;
  statusCode: number | null;
  error: string | null;
  body: string | null;
  durationMs: number;
}

/**
 * Outbound webhooks: their configuration and secrets, the outbox's deliveries and their
 * attempts, the notices of keys' expiry, and sending (the worker calls `claim` and
 * `attempt`). Every change is audited; secrets are sealed with the server secret.
 */
export class WebhookService {
  constructor(
    private readonly deps: ServiceDeps,
    private readonly audit: AuditService,
    readonly outbox: WebhookOutbox,
  ) {}

  private get store(): Store {
    return this.deps.store;
  }

  /** The rules' clock: when things happen (events, changes, keys' expiry). */
  private now(): number {
    return this.deps.clock();
  }

  /**
   * The wall clock: when deliveries are due, leased and done, and how long a secret's grace
   * lasts. These measure real time between processes, whatever the rules' clock says (tests
   * and the mock move that one to reach keys' expiry).
   */
  private wallNow(): number {
    return Date.now();
  }

  /** The operator's rules of where webhooks may send. */
  policy(): TargetPolicy {
    return {
      allowHttp: this.deps.config.webhookAllowHttp,
      allowedHosts: this.deps.config.webhookAllowedHosts,
    };
  }

  /** How long a claimed delivery stays with its instance: more than one attempt can take. */
  leaseMs(): number {
    return this.deps.config.webhookTimeoutMs * 2 + 30_000;
  }

  /**
   * Refuses a URL that may not be a target with 400 WEBHOOK_URL_NOT_ALLOWED naming the field.
   * A host name that does not resolve now is accepted: it is checked again at every delivery.
   */
  async checkUrl(url: string, field = 'body.url'): Promise<void> {
    const target = await resolveWebhookTarget(url, this.policy(), this.deps.webhooks.resolve);
    if (!target.ok && target.kind === 'refused')
      throw ApiError.field(field, target.reason, 'WEBHOOK_URL_NOT_ALLOWED');
  }

  /** Creates a webhook with a new signing secret, returned this once. */
  async create(actor: Actor, input: WebhookInput): Promise<WebhookWithSecret> {
    await this.checkUrl(input.url);
    const secret = generateWebhookSecret();
    const at = isoAt(this.now());
    const webhook: WebhookRecord = {
      id: globalThis.crypto.randomUUID(),
      name: input.name,
      description: input.description ?? '',
      url: input.url,
      events: normaliseEvents(input.events),
      is_active: input.is_active ?? true,
      sealed_secret: await this.deps.secrets.seal(secret),
      sealed_previous_secret: null,
      previous_secret_expires_at: null,
      created_by: actor.id,
      created_at: at,
      updated_at: at,
      disabled_reason: null,
    };
    await this.store.transaction(async (tx) => {
      await tx.webhooks.insert(webhook);
      await this.audit.record(
        {
          action: 'webhook.created',
          actor,
          target: { type: 'webhook', id: webhook.id },
          detail: `${webhook.name} to ${describeUrl(webhook.url)} (${describeEvents(webhook.events)})`,
        },
        tx,
      );
    });
    return { webhook, secret };
  }

  /** The webhook with this id; 404 WEBHOOK_NOT_FOUND otherwise. */
  async get(id: string, tx: Store = this.store): Promise<WebhookRecord> {
    const webhook = await tx.webhooks.findById(id);
    if (!webhook) throw webhookNotFound(id);
    return webhook;
  }

  /** A page of webhooks, oldest first. */
  list(page: Page): Promise<PageOf<WebhookRecord>> {
    return this.store.webhooks.list(page);
  }

  /**
   * Changes a webhook. A new URL passes the same checks as at creation; switching it off
   * fails its pending deliveries, switching it on again clears why Latchkey had switched it off.
   */
  async update(actor: Actor, id: string, patch: WebhookPatch): Promise<WebhookRecord> {
    if (patch.url !== undefined) await this.checkUrl(patch.url);
    return this.store.transaction(
      async (tx) => {
        const before = await this.get(id, tx);
        const change: WebhookChange = {};
        if (patch.name !== undefined && patch.name !== before.name) change.name = patch.name;
        if (patch.description !== undefined && patch.description !== before.description)
          change.description = patch.description;
        if (patch.url !== undefined && patch.url !== before.url) change.url = patch.url;
        if (patch.events !== undefined) {
          const events = normaliseEvents(patch.events);
          if (JSON.stringify(events) !== JSON.stringify(before.events)) change.events = events;
        }
        if (patch.is_active !== undefined && patch.is_active !== before.is_active) {
          change.is_active = patch.is_active;
          if (patch.is_active) change.disabled_reason = null;
        }
        if (!Object.keys(change).length) return before;
        change.updated_at = isoAt(this.now());
        await tx.webhooks.update(id, change);
        const failed =
          change.is_active === false ? await tx.webhooks.failPending(id, isoAt(this.wallNow())) : 0;
        const fields = Object.keys(change).filter((f) => f !== 'updated_at' && f !== 'disabled_reason');
        await this.audit.record(
          {
            action: 'webhook.updated',
            actor,
            target: { type: 'webhook', id },
            detail: `${change.name ?? before.name}: ${fields.join(', ')} changed${
              change.url ? ` (now to ${describeUrl(change.url)})` : ''
            }${failed ? `, ${failed} pending deliveries failed` : ''}`,
          },
          tx,
        );
        return { ...before, ...change };
      },
      { lock: `webhook:${id}` },
    );
  }

  /** Deletes a webhook with its deliveries; nothing more is sent to it. */
  async delete(actor: Actor, id: string): Promise<WebhookRecord> {
    return this.store.transaction(async (tx) => {
      const webhook = await this.get(id, tx);
      if (!(await tx.webhooks.delete(id))) throw webhookNotFound(id);
      await this.audit.record(
        {
          action: 'webhook.deleted',
          actor,
          target: { type: 'webhook', id },
          detail: `${webhook.name} to ${describeUrl(webhook.url)}`,
        },
        tx,
      );
      return webhook;
    });
  }

  /**
   * Gives a webhook a new signing secret, returned this once. The old one keeps signing
   * (a second signature in `webhook-signature`) for `graceSeconds`, so that receivers can
   * switch without losing an event.
   */
  async rotateSecret(actor: Actor, id: string, graceSeconds: number): Promise<WebhookWithSecret> {
    const secret = generateWebhookSecret();
    const sealed = await this.deps.secrets.seal(secret);
    return this.store.transaction(
      async (tx) => {
        const webhook = await this.get(id, tx);
        const change: WebhookChange = {
          sealed_secret: sealed,
          sealed_previous_secret: graceSeconds > 0 ? webhook.sealed_secret : null,
          previous_secret_expires_at: graceSeconds > 0 ? isoAt(this.wallNow() + graceSeconds * 1000) : null,
          updated_at: isoAt(this.now()),
        };
        await tx.webhooks.update(id, change);
        await this.audit.record(
          {
            action: 'webhook.secret_rotated',
            actor,
            target: { type: 'webhook', id },
            detail: `${webhook.name}: new signing secret, the old one signs ${graceSeconds} s more`,
          },
          tx,
        );
        return { webhook: { ...webhook, ...change }, secret };
      },
      { lock: `webhook:${id}` },
    );
  }

  /**
   * Sends a `webhook.test` event now, once, and returns its delivery with the attempt. It
   * is kept in the delivery log like any other and can be redelivered.
   */
  async test(actor: Actor, id: string): Promise<DeliveryWithAttempts> {
    const webhook = await this.get(id);
    const at = isoAt(this.now());
    const wall = this.wallNow();
    const event: WebhookEventRecord = {
      id: newMessageId(),
      type: TEST_EVENT_TYPE,
      payload: eventBody(TEST_EVENT_TYPE, at, { webhook_id: id, message: TEST_MESSAGE }),
      created_at: at,
    };
    // Claimed by this request from the start, so that no worker sends it too.
    const owner = `test:${globalThis.crypto.randomUUID()}`;
    const delivery: DeliveryRecord = {
      id: globalThis.crypto.randomUUID(),
      webhook_id: id,
      event_id: event.id,
      event_type: TEST_EVENT_TYPE,
      status: 'pending',
      attempt_count: 0,
      next_attempt_at: isoAt(wall),
      lease_owner: owner,
      lease_until: isoAt(wall + this.leaseMs()),
      created_at: isoAt(wall),
      completed_at: null,
    };
    await this.store.transaction(async (tx) => {
      await tx.webhooks.insertEvent(event, [delivery]);
      await this.audit.record(
        {
          action: 'webhook.tested',
          actor,
          target: { type: 'webhook', id },
          detail: `${webhook.name}: test event to ${describeUrl(webhook.url)}`,
        },
        tx,
      );
    });
    await this.attempt({ delivery, webhook, event }, owner, { maxAttempts: 1 });
    const done = await this.store.webhooks.findDelivery(id, delivery.id);
    if (!done) throw webhookNotFound(id);
    return done;
  }

  /** A page of a webhook's deliveries with their attempts, newest first. */
  async listDeliveries(
    id: string,
    filter: { status?: DeliveryStatus | undefined },
    page: Page,
  ): Promise<PageOf<DeliveryWithAttempts>> {
    await this.get(id);
    return this.store.webhooks.listDeliveries(id, filter, page);
  }

  /**
   * Sends an event of the log again, as a new delivery with its own attempts and the same
   * `webhook-id` (receivers that deduplicate by it see the same message). The webhook must be active.
   */
  async redeliver(actor: Actor, id: string, deliveryId: string): Promise<DeliveryWithAttempts> {
    const webhook = await this.get(id);
    const original = await this.store.webhooks.findDelivery(id, deliveryId);
    if (!original) {
      throw new ApiError(
        'WEBHOOK_DELIVERY_NOT_FOUND',
        `Webhook ${id} has no delivery with id ${deliveryId}.`,
      );
    }
    if (!webhook.is_active) {
      throw new ApiError(
        'WEBHOOK_INACTIVE',
        `Webhook ${id} is inactive${webhook.disabled_reason ? ` (${webhook.disabled_reason})` : ''}; switch it on with PATCH {"is_active": true} before redelivering.`,
      );
    }
    const at = isoAt(this.wallNow());
    const delivery: DeliveryRecord = {
      id: globalThis.crypto.randomUUID(),
      webhook_id: id,
      event_id: original.event_id,
      event_type: original.event_type,
      status: 'pending',
      attempt_count: 0,
      next_attempt_at: at,
      lease_owner: null,
      lease_until: null,
      created_at: at,
      completed_at: null,
    };
    await this.store.transaction(async (tx) => {
      await tx.webhooks.insertDelivery(delivery);
      await this.audit.record(
        {
          action: 'webhook.redelivered',
          actor,
          target: { type: 'webhook', id },
          detail: `${webhook.name}: ${original.event_type} of delivery ${original.id} again`,
        },
        tx,
      );
      this.outbox.notifyAfterCommit(tx);
    });
    return { ...delivery, payload: original.payload, attempts: [] };
  }

  /** Deliveries waiting to be sent (the outbox's depth). */
  outboxDepth(): Promise<number> {
    return this.store.webhooks.countPending();
  }

  /** Claims up to `limit` due deliveries for `owner`, leased for `leaseMs()`. */
  claim(owner: string, limit: number): Promise<ClaimedDelivery[]> {
    const now = this.wallNow();
    return this.store.webhooks.claimDue(isoAt(now), limit, owner, isoAt(now + this.leaseMs()));
  }

  /** Gives back the deliveries `owner` claimed and has not attempted. */
  release(owner: string): Promise<number> {
    return this.store.webhooks.release(owner);
  }

  /** The secrets that sign now: the current one, and the previous one during its grace. */
  private async signingSecrets(webhook: WebhookRecord, now: number): Promise<string[] | undefined> {
    const current = await this.deps.secrets.unseal(webhook.sealed_secret);
    if (current === undefined) return undefined;
    const previous =
      webhook.sealed_previous_secret !== null &&
      webhook.previous_secret_expires_at !== null &&
      webhook.previous_secret_expires_at > isoAt(now)
        ? await this.deps.secrets.unseal(webhook.sealed_previous_secret)
        : undefined;
    return previous === undefined ? [current] : [current, previous];
  }

  /** Checks the target again, signs and sends one attempt. */
  private async send(webhook: WebhookRecord, event: WebhookEventRecord, startedAt: number): Promise<Sent> {
    const none = { statusCode: null, body: null, durationMs: 0 };
    const secrets = await this.signingSecrets(webhook, startedAt);
    if (!secrets) {
      return {
        ...none,
        outcome: 'unsigned',
        error:
          'The signing secret cannot be read: the server secret (LATCHKEY_JWT_SECRET) changed since it was made. Rotate the webhook secret.',
      };
    }
    const target = await resolveWebhookTarget(webhook.url, this.policy(), this.deps.webhooks.resolve);
    if (!target.ok) {
      return target.kind === 'refused'
        ? { ...none, outcome: 'refused', error: `The URL ${target.reason}; nothing was sent.` }
        : { ...none, outcome: 'network_error', error: target.reason };
    }
    // The wall clock, not the rules' clock: receivers compare it with theirs.
    const timestamp = Math.floor(Date.now() / 1000);
    const headers = {
      'content-type': 'application/json',
      'user-agent': WEBHOOK_USER_AGENT,
      ...(await signatureHeaders(secrets, event.id, timestamp, event.payload)),
    };
    const answer = await this.deps.webhooks.send({
      url: target.url.href,
      host: target.host,
      address: target.address,
      headers,
      body: event.payload,
      timeoutMs: this.deps.config.webhookTimeoutMs,
    });
    if (!answer.ok) {
      return {
        outcome: answer.timedOut ? 'timeout' : 'network_error',
        statusCode: null,
        error: answer.error,
        body: null,
        durationMs: answer.durationMs,
      };
    }
    const outcome = outcomeOfStatus(answer.status);
    let error: string | null = null;
    if (outcome !== 'delivered') {
      error =
        answer.status >= 300 && answer.status < 400
          ? `The receiver answered ${answer.status}, a redirect; redirects are not followed.`
          : `The receiver answered ${answer.status}; only a 2xx counts as delivered.`;
    }
    return {
      outcome,
      statusCode: answer.status,
      error,
      body: answer.body ? truncateBody(answer.body, answer.truncated) : null,
      durationMs: answer.durationMs,
    };
  }

  /**
   * Makes one attempt of a claimed delivery and records it with the delivery's new state,
   * as long as `owner` still holds the lease. A 410 switches the webhook off and fails its
   * other pending deliveries.
   */
  async attempt(
    claimed: ClaimedDelivery,
    owner: string,
    settings: { maxAttempts: number } = { maxAttempts: this.deps.config.webhookMaxAttempts },
  ): Promise<DeliveryDecision> {
    const { delivery, webhook, event } = claimed;
    const number = delivery.attempt_count + 1;
    const startedAt = this.wallNow();
    const sent = await this.send(webhook, event, startedAt);
    const now = this.wallNow();
    const decision = decideAfterAttempt(
      { outcome: sent.outcome, statusCode: sent.statusCode },
      number,
      { maxAttempts: settings.maxAttempts, retryBaseMs: this.deps.config.webhookRetryBaseMs },
      now,
    );
    const attempt: AttemptRecord = {
      id: globalThis.crypto.randomUUID(),
      delivery_id: delivery.id,
      number,
      at: isoAt(startedAt),
      duration_ms: Math.max(0, Math.round(sent.durationMs)),
      status_code: sent.statusCode,
      outcome: sent.outcome,
      error: sent.error,
      response_body: sent.body,
    };
    const change: DeliveryChange = {
      status: decision.status,
      attempt_count: number,
      next_attempt_at: decision.nextAttemptAt === undefined ? null : isoAt(decision.nextAttemptAt),
      completed_at: decision.status === 'pending' ? null : isoAt(now),
    };
    const recorded = await this.store.transaction(async (tx) => {
      if (!(await tx.webhooks.recordAttempt(attempt, change, owner))) return false;
      if (decision.disable) {
        const at = isoAt(now);
        await tx.webhooks.update(webhook.id, {
          is_active: false,
          disabled_reason: `The receiver answered 410 Gone at ${at}.`,
          updated_at: isoAt(this.now()),
        });
        const failed = await tx.webhooks.failPending(webhook.id, at);
        await this.audit.record(
          {
            action: 'webhook.disabled',
            actor: SYSTEM_ACTOR,
            target: { type: 'webhook', id: webhook.id },
            detail: `${webhook.name}: the receiver answered 410 Gone; switched off, ${failed} pending deliveries failed`,
          },
          tx,
        );
      }
      if (decision.status === 'pending') this.outbox.notifyAfterCommit(tx);
      return true;
    });
    if (recorded) {
      this.deps.observe?.({
        type: 'webhook_attempt',
        result: decision.disable ? 'disabled' : decision.status === 'pending' ? 'retrying' : decision.status,
      });
    }
    return decision;
  }

  /**
   * Raises `key.expiring` when an active key enters a warning window (7 days, or the
   * setting, and 1 day before its expiry) and `key.expired` once it has expired, each once
   * per key and expiry: the notice is recorded in the transaction that raises the event, so
   * restarts and other instances never raise it again. A key inside several windows at once
   * gets one notice, for the nearest. Returns how many events were raised.
   */
  async scanExpiry(): Promise<number> {
    const now = this.now();
    const thresholds = expiryThresholds(this.deps.config.webhookExpiringDays);
    const horizon = (thresholds[0] ?? 1) * DAY_MS;
    const candidates = new Map<string, string>();
    const expired = await this.store.webhooks.keysToNotify(
      'expired',
      isoAt(now - horizon),
      isoAt(now),
      SCAN_LIMIT,
    );
    for (const { key } of expired) candidates.set(key.id, key.expires_at as string);
    for (const days of thresholds) {
      const soon = await this.store.webhooks.keysToNotify(
        expiringKind(days),
        isoAt(now),
        isoAt(now + days * DAY_MS),
        SCAN_LIMIT,
      );
      for (const { key } of soon) candidates.set(key.id, key.expires_at as string);
    }
    let raised = 0;
    for (const [keyId, expiresAt] of candidates) {
      const done = await this.store.transaction(async (tx) => {
        // Read again inside the transaction: the key may have changed or gone since the scan.
        const key = await tx.keys.findById(keyId);
        if (!key?.is_active || key.expires_at !== expiresAt) return false;
        const owner = await tx.users.findById(key.user_id);
        if (!owner) return false;
        const ends = Date.parse(expiresAt);
        const inside = thresholds.filter((d) => ends <= now + d * DAY_MS);
        const nearest = inside[inside.length - 1];
        const isExpired = ends <= now;
        if (!isExpired && nearest === undefined) return false;
        const kinds = isExpired ? ['expired', ...thresholds.map(expiringKind)] : inside.map(expiringKind);
        const main = isExpired ? 'expired' : expiringKind(nearest as number);
        const added = await tx.webhooks.recordNotices(key.id, expiresAt, kinds);
        if (!added.includes(main)) return false;
        if (isExpired) await this.outbox.raise(tx, 'key.expired', keyEventData(key, owner));
        else
          await this.outbox.raise(tx, 'key.expiring', {
            ...keyEventData(key, owner),
            threshold_days: nearest as number,
          });
        return true;
      });
      if (done) raised++;
    }
    return raised;
  }

  /** Removes deliveries that ended more than `retentionMs` ago, with their attempts and events. */
  prune(retentionMs: number): Promise<void> {
    return this.store.webhooks.prune(isoAt(this.wallNow() - retentionMs));
  }
}
