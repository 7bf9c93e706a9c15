// The narrow storage interface the services run on. The server implements it with Kysely
// (SQLite, Postgres); `MemoryStore` implements it with Maps for the mock. Records come in
// and go out as the rules see them; how a store encodes them is its own business.
import type { AuditEvent, AuditFilter } from '../audit/audit.record.js';
import type { KeyRecord } from '../keys/key.record.js';
import type { FoundSession, SessionRecord } from '../sessions/session.record.js';
import type { UserRecord } from '../users/user.record.js';

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
  counts(): Promise<{ users: number; keys: number }>;
  /** Runs `work` in one transaction: everything it writes through `tx` commits, or nothing. */
  transaction<T>(work: (tx: Store) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /** True when the store answers. */
  ping(): Promise<boolean>;
}
