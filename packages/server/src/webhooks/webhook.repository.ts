import type {
  AttemptRecord,
  ClaimedDelivery,
  DeliveryChange,
  DeliveryRecord,
  DeliveryStatus,
  DeliveryWithAttempts,
  KeyWithOwner,
  Page,
  PageOf,
  WebhookChange,
  WebhookEventRecord,
  WebhookEventType,
  WebhookRecord,
  WebhookRepository,
} from '@latchkey/core';
import { type Kysely, PostgresAdapter, sql } from 'kysely';
import type { Database } from '../db/database.types.js';
import { toKeyRecord } from '../keys/key.repository.js';
import { toUserRecord } from '../users/user.repository.js';
import type {
  NewWebhookRow,
  WebhookAttemptRow,
  WebhookDeliveryRow,
  WebhookRow,
  WebhookTable,
} from './webhook.table.js';

function toWebhookRecord(row: WebhookRow): WebhookRecord {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    url: row.url,
    events: row.events === null ? null : (JSON.parse(row.events) as WebhookEventType[]),
    is_active: Boolean(row.is_active),
    sealed_secret: row.sealed_secret,
    sealed_previous_secret: row.sealed_previous_secret,
    previous_secret_expires_at: row.previous_secret_expires_at,
    created_by: row.created_by,
    created_at: row.created_at,
    updated_at: row.updated_at,
    disabled_reason: row.disabled_reason,
  };
}

function toWebhookRow(webhook: WebhookRecord): NewWebhookRow {
  return {
    ...webhook,
    events: webhook.events === null ? null : JSON.stringify(webhook.events),
    is_active: webhook.is_active ? 1 : 0,
  };
}

function toRowUpdate(change: WebhookChange): Partial<WebhookTable> {
  const { events, is_active, ...rest } = change;
  const out: Partial<WebhookTable> = { ...rest };
  if (events !== undefined) out.events = events === null ? null : JSON.stringify(events);
  if (is_active !== undefined) out.is_active = is_active ? 1 : 0;
  return out;
}

function toDeliveryRecord(row: WebhookDeliveryRow): DeliveryRecord {
  return {
    id: row.id,
    webhook_id: row.webhook_id,
    event_id: row.event_id,
    event_type: row.event_type as DeliveryRecord['event_type'],
    status: row.status,
    attempt_count: Number(row.attempt_count),
    next_attempt_at: row.next_attempt_at,
    lease_owner: row.lease_owner,
    lease_until: row.lease_until,
    created_at: row.created_at,
    completed_at: row.completed_at,
  };
}

function toAttemptRecord(row: WebhookAttemptRow): AttemptRecord {
  return {
    ...row,
    number: Number(row.number),
    duration_ms: Number(row.duration_ms),
    status_code: row.status_code === null ? null : Number(row.status_code),
  };
}

const DELIVERY_COLUMNS = [
  'd.id',
  'd.webhook_id',
  'd.event_id',
  'd.event_type',
  'd.status',
  'd.attempt_count',
  'd.next_attempt_at',
  'd.lease_owner',
  'd.lease_until',
  'd.created_at',
  'd.completed_at',
] as const;

/** Webhooks, their outbox and delivery log, and expiry notices, in SQLite or Postgres. */
export class KyselyWebhookRepository implements WebhookRepository {
  constructor(private readonly db: Kysely<Database>) {}

  private get postgres(): boolean {
    return this.db.getExecutor().adapter instanceof PostgresAdapter;
  }

  async insert(webhook: WebhookRecord): Promise<void> {
    await this.db.insertInto('webhooks').values(toWebhookRow(webhook)).execute();
  }

  async findById(id: string): Promise<WebhookRecord | undefined> {
    const row = await this.db.selectFrom('webhooks').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toWebhookRecord(row);
  }

  async list(page: Page): Promise<PageOf<WebhookRecord>> {
    const [{ n } = { n: 0 }] = await this.db
      .selectFrom('webhooks')
      .select((eb) => eb.fn.countAll<string | number>().as('n'))
      .execute();
    const rows = await this.db
      .selectFrom('webhooks')
      .selectAll()
      .orderBy('created_at')
      .orderBy('id')
      .limit(page.limit)
      .offset(page.offset)
      .execute();
    return { count: Number(n), rows: rows.map(toWebhookRecord) };
  }

  async listActive(): Promise<WebhookRecord[]> {
    const rows = await this.db.selectFrom('webhooks').selectAll().where('is_active', '=', 1).execute();
    return rows.map(toWebhookRecord);
  }

  async update(id: string, change: WebhookChange): Promise<void> {
    const values = toRowUpdate(change);
    if (!Object.keys(values).length) return;
    await this.db.updateTable('webhooks').set(values).where('id', '=', id).execute();
  }

  async delete(id: string): Promise<boolean> {
    const result = await this.db.deleteFrom('webhooks').where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async insertEvent(event: WebhookEventRecord, deliveries: readonly DeliveryRecord[]): Promise<void> {
    await this.db.insertInto('webhook_events').values(event).execute();
    if (deliveries.length)
      await this.db
        .insertInto('webhook_deliveries')
        .values([...deliveries])
        .execute();
  }

  async insertDelivery(delivery: DeliveryRecord): Promise<void> {
    await this.db.insertInto('webhook_deliveries').values(delivery).execute();
  }

  async findEvent(id: string): Promise<WebhookEventRecord | undefined> {
    const row = await this.db
      .selectFrom('webhook_events')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return row && { ...row, type: row.type as WebhookEventRecord['type'] };
  }

  /** Deliveries with their event's body and their attempts. */
  private async withAttempts(
    rows: (WebhookDeliveryRow & { payload: string })[],
  ): Promise<DeliveryWithAttempts[]> {
    if (!rows.length) return [];
    const attempts = await this.db
      .selectFrom('webhook_attempts')
      .selectAll()
      .where(
        'delivery_id',
        'in',
        rows.map((r) => r.id),
      )
      .orderBy('delivery_id')
      .orderBy('number')
      .execute();
    const byDelivery = new Map<string, AttemptRecord[]>();
    for (const a of attempts) {
      const list = byDelivery.get(a.delivery_id) ?? [];
      list.push(toAttemptRecord(a));
      byDelivery.set(a.delivery_id, list);
    }
    return rows.map(({ payload, ...row }) => ({
      ...toDeliveryRecord(row),
      payload,
      attempts: byDelivery.get(row.id) ?? [],
    }));
  }

  private deliveries() {
    return this.db
      .selectFrom('webhook_deliveries as d')
      .innerJoin('webhook_events as e', 'e.id', 'd.event_id')
      .select(DELIVERY_COLUMNS)
      .select('e.payload');
  }

  async findDelivery(webhookId: string, id: string): Promise<DeliveryWithAttempts | undefined> {
    const row = await this.deliveries()
      .where('d.id', '=', id)
      .where('d.webhook_id', '=', webhookId)
      .executeTakeFirst();
    return row ? (await this.withAttempts([row]))[0] : undefined;
  }

  async listDeliveries(
    webhookId: string,
    filter: { status?: DeliveryStatus | undefined },
    page: Page,
  ): Promise<PageOf<DeliveryWithAttempts>> {
    let count = this.db.selectFrom('webhook_deliveries').where('webhook_id', '=', webhookId);
    let query = this.deliveries().where('d.webhook_id', '=', webhookId);
    if (filter.status) {
      count = count.where('status', '=', filter.status);
      query = query.where('d.status', '=', filter.status);
    }
    const [{ n } = { n: 0 }] = await count
      .select((eb) => eb.fn.countAll<string | number>().as('n'))
      .execute();
    const rows = await query
      .orderBy('d.created_at', 'desc')
      .orderBy('d.id', 'desc')
      .limit(page.limit)
      .offset(page.offset)
      .execute();
    return { count: Number(n), rows: await this.withAttempts(rows) };
  }

  /**
   * One statement claims the rows: on Postgres the due rows are locked with
   * `FOR UPDATE SKIP LOCKED`, so that concurrent claims from other instances pass over them
   * instead of waiting or taking them too; SQLite runs one write at a time. The lease then
   * keeps them from every other claim until it ends.
   */
  async claimDue(now: string, limit: number, owner: string, leaseUntil: string): Promise<ClaimedDelivery[]> {
    const lock = this.postgres ? sql`for update of d skip locked` : sql``;
    const { rows } = await sql<WebhookDeliveryRow>`
      update webhook_deliveries set lease_owner = ${owner}, lease_until = ${leaseUntil}
      where id in (
        select d.id from webhook_deliveries d
        join webhooks w on w.id = d.webhook_id
        where d.status = 'pending' and w.is_active = 1 and d.next_attempt_at <= ${now}
          and (d.lease_until is null or d.lease_until <= ${now})
        order by d.next_attempt_at, d.id
        limit ${limit}
        ${lock}
      )
      returning *`.execute(this.db);
    if (!rows.length) return [];
    const webhookIds = [...new Set(rows.map((r) => r.webhook_id))];
    const eventIds = [...new Set(rows.map((r) => r.event_id))];
    const [webhooks, events] = await Promise.all([
      this.db.selectFrom('webhooks').selectAll().where('id', 'in', webhookIds).execute(),
      this.db.selectFrom('webhook_events').selectAll().where('id', 'in', eventIds).execute(),
    ]);
    const webhookById = new Map(webhooks.map((w) => [w.id, toWebhookRecord(w)]));
    const eventById = new Map(
      events.map((e) => [e.id, { ...e, type: e.type as WebhookEventRecord['type'] }]),
    );
    const claimed: ClaimedDelivery[] = [];
    for (const row of rows) {
      const webhook = webhookById.get(row.webhook_id);
      const event = eventById.get(row.event_id);
      // Deleted between the claim and these reads: nothing to send.
      if (webhook && event) claimed.push({ delivery: toDeliveryRecord(row), webhook, event });
    }
    return claimed.sort((a, b) =>
      (a.delivery.next_attempt_at ?? '').localeCompare(b.delivery.next_attempt_at ?? ''),
    );
  }

  async recordAttempt(attempt: AttemptRecord, change: DeliveryChange, owner: string): Promise<boolean> {
    const result = await this.db
      .updateTable('webhook_deliveries')
      .set({ ...change, lease_owner: null, lease_until: null })
      .where('id', '=', attempt.delivery_id)
      .where('lease_owner', '=', owner)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) === 0) return false;
    await this.db.insertInto('webhook_attempts').values(attempt).execute();
    return true;
  }

  async release(owner: string): Promise<number> {
    const result = await this.db
      .updateTable('webhook_deliveries')
      .set({ lease_owner: null, lease_until: null })
      .where('lease_owner', '=', owner)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  async failPending(webhookId: string, now: string): Promise<number> {
    const result = await this.db
      .updateTable('webhook_deliveries')
      .set({
        status: 'failed',
        next_attempt_at: null,
        completed_at: now,
        lease_owner: null,
        lease_until: null,
      })
      .where('webhook_id', '=', webhookId)
      .where('status', '=', 'pending')
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  async countPending(): Promise<number> {
    const { n } = await this.db
      .selectFrom('webhook_deliveries')
      .select((eb) => eb.fn.countAll<string | number>().as('n'))
      .where('status', '=', 'pending')
      .executeTakeFirstOrThrow();
    return Number(n);
  }

  async keysToNotify(kind: string, from: string, to: string, limit: number): Promise<KeyWithOwner[]> {
    const keys = await this.db
      .selectFrom('api_keys as k')
      .selectAll('k')
      .where('k.is_active', '=', 1)
      .where('k.expires_at', '>', from)
      .where('k.expires_at', '<=', to)
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('key_expiry_notices as n')
              .select('n.key_id')
              .whereRef('n.key_id', '=', 'k.id')
              .where('n.kind', '=', kind)
              .whereRef('n.expires_at', '=', 'k.expires_at'),
          ),
        ),
      )
      .orderBy('k.expires_at')
      .orderBy('k.id')
      .limit(limit)
      .execute();
    if (!keys.length) return [];
    const users = await this.db
      .selectFrom('users')
      .selectAll()
      .where('id', 'in', [...new Set(keys.map((k) => k.user_id))])
      .execute();
    const byId = new Map(users.map((u) => [u.id, toUserRecord(u)]));
    return keys.flatMap((row) => {
      const user = byId.get(row.user_id);
      return user ? [{ key: toKeyRecord(row), user }] : [];
    });
  }

  async recordNotices(keyId: string, expiresAt: string, kinds: readonly string[]): Promise<string[]> {
    if (!kinds.length) return [];
    const created_at = new Date().toISOString();
    const rows = await this.db
      .insertInto('key_expiry_notices')
      .values(kinds.map((kind) => ({ key_id: keyId, kind, expires_at: expiresAt, created_at })))
      .onConflict((oc) => oc.columns(['key_id', 'kind', 'expires_at']).doNothing())
      .returning('kind')
      .execute();
    return rows.map((r) => r.kind);
  }

  async prune(before: string): Promise<void> {
    await this.db
      .deleteFrom('webhook_deliveries')
      .where('completed_at', 'is not', null)
      .where('completed_at', '<', before)
      .execute();
    await this.db
      .deleteFrom('webhook_events')
      .where('created_at', '<', before)
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('webhook_deliveries as d')
              .select('d.id')
              .whereRef('d.event_id', '=', 'webhook_events.id'),
          ),
        ),
      )
      .execute();
  }
}
