// The narrow storage interface the services run on. The server implements it with Kysely
// (SQLite, Postgres); `MemoryStore` implements it with Maps for the mock. Records come in
// and go out as the rules see them; how a store encodes them is its own business.
import type { AuditEvent, AuditFilter } from '../audit/audit.record.js';
import type { KeyRecord } from '../keys/key.record.js';
import type { FoundSession, SessionRecord } from '../sessions/session.record.js';
import type { UserRecord } from '../users/user.record.js';
import type {
  AttemptRecord,
  ClaimedDelivery,
  DeliveryRecord,
  DeliveryStatus,
  DeliveryWithAttempts,
  WebhookChange,
  WebhookEventRecord,
  WebhookRecord,
} from '../webhooks/webhook.record.js';

export interface Page {
  limit: number;
  offset: number;
}

export interface PageOf<T> {
  count: number;
  rows: T[];
}

export interface KeyWithOwner {
  key: KeyRecord;
  user: UserRecord;
}

export interface KeyFilter {
  userId?: string | undefined;
  isActive?: boolean | undefined;
  /** With `now`: only keys that have (true) or have not (false) expired. */
  expired?: boolean | undefined;
  now: string;
}

/** A key's last use, buffered and written in batches. */
export interface UsageEntry {
  id: string;
  at: string;
  ip: string;
}

/** The fields of a key that change after creation. */
export type KeyChange = Partial<
  Pick<
    KeyRecord,
    'name' | 'write_enabled' | 'is_active' | 'expires_at' | 'allowed_ips' | 'permissions' | 'updated_at'
  >
>;

export interface KeyRepository {
  /** The hot path: one read through the unique digest, with the owner. */
  findByDigest(digest: string): Promise<KeyWithOwner | undefined>;
  findById(id: string): Promise<KeyRecord | undefined>;
  /** Newest first (created_at, then id). */
  list(filter: KeyFilter, page: Page): Promise<PageOf<KeyRecord>>;
  /** The newest active, unexpired token that get_api_token issued to the user and sealed. */
  newestIssuedToken(userId: string, now: string): Promise<KeyRecord | undefined>;
  /** False when a key with the same digest exists already. */
  insert(key: KeyRecord): Promise<boolean>;
  update(id: string, change: KeyChange): Promise<void>;
  /**
   * Changes the key only while it is exactly as `expected` says and nothing was ever
   * rotated from it; true when it changed. Of concurrent claims at most one succeeds.
   */
  claimForRotation(
    id: string,
    expected: Pick<KeyRecord, 'updated_at' | 'expires_at'>,
    change: Pick<KeyRecord, 'updated_at' | 'expires_at'>,
  ): Promise<boolean>;
  /** False when there was no such key. */
  delete(id: string): Promise<boolean>;
  recordUsage(entries: readonly UsageEntry[]): Promise<void>;
}

export interface UserFilter {
  isActive?: boolean | undefined;
  isSuperuser?: boolean | undefined;
}

export type UserChange = Partial<
  Pick<
    UserRecord,
    'is_superuser' | 'is_active' | 'can_create_tokens' | 'can_verify_keys' | 'password_hash' | 'updated_at'
  >
>;

export interface UserRepository {
  findById(id: string): Promise<UserRecord | undefined>;
  findByUsername(username: string): Promise<UserRecord | undefined>;
  /** Oldest first (created_at, then id). */
  list(filter: UserFilter, page: Page): Promise<PageOf<UserRecord>>;
  countOtherActiveSuperusers(exceptId: string): Promise<number>;
  /** False when the username is taken. */
  insert(user: UserRecord): Promise<boolean>;
  update(id: string, change: UserChange): Promise<void>;
  /** Deletes the user with their keys and sessions. */
  delete(id: string): Promise<void>;
}

export interface SessionRepository {
  insert(session: SessionRecord): Promise<void>;
  /** The session with its owner, whatever their state; the service decides what is live. */
  findById(id: string): Promise<FoundSession | undefined>;
  findByDigest(digest: string): Promise<FoundSession | undefined>;
  delete(id: string): Promise<void>;
  /** Ends every session of a user, except one when given; returns their ids. */
  deleteForUser(userId: string, exceptId?: string): Promise<string[]>;
  /** Removes sessions that expired by `now`. */
  prune(now: string): Promise<void>;
}

export interface AuditRepository {
  insert(event: AuditEvent): Promise<void>;
  /** Newest first (at, then id). */
  list(filter: AuditFilter, page: Page): Promise<PageOf<AuditEvent>>;
}

/** A delivery's state after an attempt; the lease ends with it. */
export type DeliveryChange = Pick<
  DeliveryRecord,
  'status' | 'attempt_count' | 'next_attempt_at' | 'completed_at'
>;

/**
 * Webhooks, the outbox of their events and deliveries, the log of attempts, and the notices
 * of keys' expiry already raised.
 */
export interface WebhookRepository {
  insert(webhook: WebhookRecord): Promise<void>;
  findById(id: string): Promise<WebhookRecord | undefined>;
  /** Oldest first (created_at, then id). */
  list(page: Page): Promise<PageOf<WebhookRecord>>;
  /** Every active webhook: an event goes to those of them that subscribe to it. */
  listActive(): Promise<WebhookRecord[]>;
  update(id: string, change: WebhookChange): Promise<void>;
  /** Deletes a webhook with its deliveries and their attempts; false when there was none. */
  delete(id: string): Promise<boolean>;
  /** Stores an event with its deliveries (the outbox); in the transaction of the change that raised it. */
  insertEvent(event: WebhookEventRecord, deliveries: readonly DeliveryRecord[]): Promise<void>;
  insertDelivery(delivery: DeliveryRecord): Promise<void>;
  findEvent(id: string): Promise<WebhookEventRecord | undefined>;
  /** A delivery of this webhook, with its attempts (oldest first). */
  findDelivery(webhookId: string, id: string): Promise<DeliveryWithAttempts | undefined>;
  /** Newest first (created_at, then id), with their attempts. */
  listDeliveries(
    webhookId: string,
    filter: { status?: DeliveryStatus | undefined },
    page: Page,
  ): Promise<PageOf<DeliveryWithAttempts>>;
  /**
   * Claims up to `limit` pending deliveries of active webhooks that are due by `now` and
   * not leased (or whose lease ended), soonest due first: each gets `owner` and a lease
   * until `leaseUntil`. Of claims made at the same time, by any instance sharing the store,
   * each delivery goes to one.
   */
  claimDue(now: string, limit: number, owner: string, leaseUntil: string): Promise<ClaimedDelivery[]>;
  /**
   * Records an attempt and the delivery's new state, and ends the lease; only while `owner`
   * holds it. False (and nothing written) otherwise.
   */
  recordAttempt(attempt: AttemptRecord, change: DeliveryChange, owner: string): Promise<boolean>;
  /** Ends the leases `owner` holds without an attempt; returns how many. */
  release(owner: string): Promise<number>;
  /** Fails every pending delivery of a webhook (when it is switched off); returns how many. */
  failPending(webhookId: string, now: string): Promise<number>;
  /** Deliveries waiting to be sent, due or not. */
  countPending(): Promise<number>;
  /**
   * Active keys (with their owners) whose expiry is after `from` and at or before `to` and
   * that have no notice `kind` for that expiry; soonest expiry first.
   */
  keysToNotify(kind: string, from: string, to: string, limit: number): Promise<KeyWithOwner[]>;
  /** Records notices about a key's expiry; returns the kinds that were not recorded before. */
  recordNotices(keyId: string, expiresAt: string, kinds: readonly string[]): Promise<string[]>;
  /** Removes deliveries that ended before `before`, and events no delivery refers to any more. */
  prune(before: string): Promise<void>;
}

export interface TransactionOptions {
  /**
   * Transactions naming the same lock run one after another, on every instance sharing the
   * store (a Postgres advisory lock; SQLite and memory run one write transaction at a time).
   */
  lock?: string;
}

export interface Store {
  readonly keys: KeyRepository;
  readonly users: UserRepository;
  readonly sessions: SessionRepository;
  readonly audit: AuditRepository;
  readonly webhooks: WebhookRepository;
  counts(): Promise<{ users: number; keys: number }>;
  /** Runs `work` in one transaction: everything it writes through `tx` commits, or nothing. */
  transaction<T>(work: (tx: Store) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /**
   * Runs `fn` once the transaction this store belongs to has committed (never when it rolls
   * back); at once outside a transaction.
   */
  afterCommit(fn: () => void): void;
  /** True when the store answers. */
  ping(): Promise<boolean>;
}
