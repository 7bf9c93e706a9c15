import { hash, randomBytes } from 'node:crypto';
import type { CachedSession, CredentialCache, Invalidation, KeyWithOwner, UserRecord } from '@latchkey/core';
import { BoundedMap } from './bounded-map.js';

export type { Invalidation } from '@latchkey/core';

export interface AuthCacheOptions {
  maxEntries: number;
  ttlMs: number;
}

/** Where invalidations go after they are applied here: other instances. */
export type Publish = (message: Invalidation) => Promise<void>;

/**
 * Verified credentials held in memory so that the hot path reads no database and runs no
 * password hash: API keys, login sessions (JWT and cookie) and Basic credentials
 * (`username:password`), each under `entryId` of the credential.
 *
 * Entries hold the rows as they were read; every check that depends on time (expiry)
 * still runs on each hit. Every write that changes a key, a user or a session calls
 * `invalidate` after it commits: the entries go at once on this instance, and the
 * message is published to the others. A read that started before an invalidation never
 * stores its (possibly stale) result: `generation` tells.
 */
export class AuthCache implements CredentialCache {
  private readonly keys: BoundedMap<KeyWithOwner>;
  private readonly sessions: BoundedMap<CachedSession>;
  private readonly basic: BoundedMap<UserRecord>;
  private publish: Publish | undefined;
  private gen = 0;
  private readonly salt = randomBytes(32).toString('base64');
  /** Lookups since the start, by kind: plain numbers, read by the metrics at scrape time. */
  readonly lookups = { key: { hit: 0, miss: 0 }, session: { hit: 0, miss: 0 }, basic: { hit: 0, miss: 0 } };

  constructor(readonly options: AuthCacheOptions) {
    this.keys = new BoundedMap(options.maxEntries, options.ttlMs);
    this.sessions = new BoundedMap(options.maxEntries, options.ttlMs);
    this.basic = new BoundedMap(options.maxEntries, options.ttlMs);
  }

  /** A cache that stores nothing (for services working inside a transaction). */
  static disabled(): AuthCache {
    return new AuthCache({ maxEntries: 0, ttlMs: 0 });
  }

  get enabled(): boolean {
    return this.options.maxEntries > 0 && this.options.ttlMs > 0;
  }

  /** Read before a database read; pass it to the `put` that stores the result. */
  get generation(): number {
    return this.gen;
  }

  /** Sends local invalidations on to other instances from now on. */
  publishTo(publish: Publish | undefined): void {
    this.publish = publish;
  }

  /**
   * The name a credential's entry is stored under: SHA-256 of a random secret of this
   * process and the credential, never the credential itself. A cache hit costs this hash
   * (a fifth of an HMAC's time: no key schedule) and one Map lookup; the stored HMAC digest
   * is computed only on a miss, for the database.
   */
  entryId(kind: 'key' | 'jwt' | 'cookie' | 'basic', secret: string): string {
    return hash('sha256', `${this.salt}\u0000${kind}\u0000${secret}`, 'base64');
  }

  /** The name a Basic credential is cached under; never the password itself. */
  basicDigest(username: string, password: string): string {
    return this.entryId('basic', `${username}:${password}`);
  }

  getKey(digest: string): KeyWithOwner | undefined {
    const hit = this.keys.get(digest);
    if (hit) this.lookups.key.hit++;
    else this.lookups.key.miss++;
    return hit;
  }

  putKey(digest: string, found: KeyWithOwner, generation: number): void {
    if (generation === this.gen) this.keys.set(digest, found);
  }

  getSession(id: string, now: number): CachedSession | undefined {
    const found = this.sessions.get(id, now);
    const hit = found && found.expiresAtMs > now ? found : undefined;
    if (hit) this.lookups.session.hit++;
    else this.lookups.session.miss++;
    return hit;
  }

  putSession(id: string, found: CachedSession, generation: number): void {
    if (generation === this.gen) this.sessions.set(id, found);
  }

  getBasic(digest: string): UserRecord | undefined {
    const hit = this.basic.get(digest);
    if (hit) this.lookups.basic.hit++;
    else this.lookups.basic.miss++;
    return hit;
  }

  putBasic(digest: string, user: UserRecord, generation: number): void {
    if (generation === this.gen) this.basic.set(digest, user);
  }

  /** Forgets what the change touches, here and now; then tells the other instances. */
  async invalidate(change: Invalidation): Promise<void> {
    this.apply(change);
    await this.publish?.(change);
  }

  /** Applies an invalidation (local, or received from another instance). */
  apply(change: Invalidation): void {
    this.gen++;
    switch (change.kind) {
      case 'key':
        this.keys.deleteWhere((e) => e.key.id === change.id);
        break;
      case 'session':
        this.sessions.deleteWhere((e) => e.session.id === change.id);
        break;
      case 'user':
        this.keys.deleteWhere((e) => e.user.id === change.id);
        this.sessions.deleteWhere((e) => e.user.id === change.id);
        this.basic.deleteWhere((u) => u.id === change.id);
        break;
      case 'all':
        this.keys.clear();
        this.sessions.clear();
        this.basic.clear();
        break;
    }
  }

  /** Entries held, for tests and metrics. */
  sizes(): { keys: number; sessions: number; basic: number } {
    return { keys: this.keys.size, sessions: this.sessions.size, basic: this.basic.size };
  }
}
