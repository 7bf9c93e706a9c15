import type { AuditEvent, AuditFilter } from '../audit/audit.record.js';
import type { KeyRecord } from '../keys/key.record.js';
import type { FoundSession, SessionRecord } from '../sessions/session.record.js';
import type { UserRecord } from '../users/user.record.js';
import type {
  AuditRepository,
  KeyChange,
  KeyFilter,
  KeyRepository,
  KeyWithOwner,
  Page,
  PageOf,
  SessionRepository,
  Store,
  TransactionOptions,
  UsageEntry,
  UserChange,
  UserFilter,
  UserRepository,
} from './store.js';

/** Everything one memory store holds. Records are replaced on change, never changed in place. */
interface MemoryData {
  users: Map<string, UserRecord>;
  keys: Map<string, KeyRecord>;
  keyByDigest: Map<string, string>;
  sessions: Map<string, SessionRecord>;
  audit: AuditEvent[];
  /** The end of the transaction running now; the next one waits for it. */
  queue: Promise<void>;
}

type Undo = () => void;

function pageOf<T>(all: T[], page: Page): PageOf<T> {
  return { count: all.length, rows: all.slice(page.offset, page.offset + page.limit) };
}

const newestFirst = (a: { created_at: string; id: string }, b: { created_at: string; id: string }) =>
  b.created_at.localeCompare(a.created_at) || b.id.localeCompare(a.id);

/**
 * The storage interface on Maps, for the mock and for tests: the same contract as the
 * server's SQL stores (the storage conformance suite runs against all of them). A
 * transaction runs alone and undoes what it wrote when it fails.
 */
export class MemoryStore implements Store {
  readonly keys: KeyRepository;
  readonly users: UserRepository;
  readonly sessions: SessionRepository;
  readonly audit: AuditRepository;
  private readonly data: MemoryData;

  constructor(data?: MemoryData, journal?: Undo[]) {
    this.data = data ?? {
      users: new Map(),
      keys: new Map(),
      keyByDigest: new Map(),
      sessions: new Map(),
      audit: [],
      queue: Promise.resolve(),
    };
    this.journal = journal;
    this.keys = this.keyRepository();
    this.users = this.userRepository();
    this.sessions = this.sessionRepository();
    this.audit = this.auditRepository();
  }

  /** Undo steps of the transaction this view belongs to; undefined outside one. */
  private readonly journal: Undo[] | undefined;

  private setIn<K, V>(map: Map<K, V>, key: K, value: V): void {
    if (this.journal) {
      const had = map.has(key);
      const before = map.get(key) as V;
      this.journal.push(() => (had ? map.set(key, before) : map.delete(key)));
    }
    map.set(key, value);
  }

  private deleteIn<K, V>(map: Map<K, V>, key: K): boolean {
    if (!map.has(key)) return false;
    if (this.journal) {
      const before = map.get(key) as V;
      this.journal.push(() => map.set(key, before));
    }
    return map.delete(key);
  }

  async counts(): Promise<{ users: number; keys: number }> {
    return { users: this.data.users.size, keys: this.data.keys.size };
  }

  async transaction<T>(work: (tx: Store) => Promise<T>, _options?: TransactionOptions): Promise<T> {
    // Within a transaction already: its writes join it.
    if (this.journal) return work(this);
    const previous = this.data.queue;
    let release: () => void = () => {};
    this.data.queue = new Promise<void>((resolve) => {
      release = resolve;
    });
    await previous;
    const journal: Undo[] = [];
    try {
      return await work(new MemoryStore(this.data, journal));
    } catch (err) {
      for (const undo of journal.reverse()) undo();
      throw err;
    } finally {
      release();
    }
  }

  async ping(): Promise<boolean> {
    return true;
  }

  private withOwner(key: KeyRecord | undefined): KeyWithOwner | undefined {
    const user = key ? this.data.users.get(key.user_id) : undefined;
    return key && user ? { key, user } : undefined;
  }

  private keyRepository(): KeyRepository {
    const { keys, keyByDigest } = this.data;
    return {
      findByDigest: async (digest) => {
        const id = keyByDigest.get(digest);
        return this.withOwner(id === undefined ? undefined : keys.get(id));
      },
      findById: async (id) => keys.get(id),
      list: async (filter: KeyFilter, page) => {
        const all = [...keys.values()]
          .filter((k) => filter.userId === undefined || k.user_id === filter.userId)
          .filter((k) => filter.isActive === undefined || k.is_active === filter.isActive)
          .filter(
            (k) =>
              filter.expired === undefined ||
              (k.expires_at !== null && k.expires_at <= filter.now) === filter.expired,
          )
          .sort(newestFirst);
        return pageOf(all, page);
      },
      newestIssuedToken: async (userId, now) =>
        [...keys.values()]
          .filter(
            (k) =>
              k.user_id === userId &&
              k.created_via === 'get_api_token' &&
              k.is_active &&
              k.sealed_key !== null &&
              k.expires_at !== null &&
              k.expires_at > now,
          )
          .sort(newestFirst)[0],
      insert: async (key) => {
        if (keyByDigest.has(key.digest) || keys.has(key.id)) return false;
        this.setIn(keys, key.id, { ...key });
        this.setIn(keyByDigest, key.digest, key.id);
        return true;
      },
      update: async (id, change: KeyChange) => {
        const key = keys.get(id);
        if (key) this.setIn(keys, id, { ...key, ...change });
      },
      claimForRotation: async (id, expected, change) => {
        const key = keys.get(id);
        if (
          !key?.is_active ||
          key.updated_at !== expected.updated_at ||
          key.expires_at !== expected.expires_at ||
          [...keys.values()].some((k) => k.rotated_from_id === id)
        ) {
          return false;
        }
        this.setIn(keys, id, { ...key, ...change });
        return true;
      },
      delete: async (id) => {
        const key = keys.get(id);
        if (!key) return false;
        this.deleteIn(keys, id);
        this.deleteIn(keyByDigest, key.digest);
        return true;
      },
      recordUsage: async (entries: readonly UsageEntry[]) => {
        for (const e of entries) {
          const key = keys.get(e.id);
          if (key) this.setIn(keys, e.id, { ...key, last_used_at: e.at, last_used_ip: e.ip });
        }
      },
    };
  }

  private userRepository(): UserRepository {
    const { users, keys, sessions } = this.data;
    return {
      findById: async (id) => users.get(id),
      findByUsername: async (username) => {
        for (const user of users.values()) if (user.username === username) return user;
        return undefined;
      },
      list: async (filter: UserFilter, page) => {
        const all = [...users.values()]
          .filter((u) => filter.isActive === undefined || u.is_active === filter.isActive)
          .filter((u) => filter.isSuperuser === undefined || u.is_superuser === filter.isSuperuser)
          .sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id));
        return pageOf(all, page);
      },
      countOtherActiveSuperusers: async (exceptId) =>
        [...users.values()].filter((u) => u.id !== exceptId && u.is_superuser && u.is_active).length,
      insert: async (user) => {
        for (const other of users.values()) if (other.username === user.username) return false;
        if (users.has(user.id)) return false;
        this.setIn(users, user.id, { ...user });
        return true;
      },
      update: async (id, change: UserChange) => {
        const user = users.get(id);
        if (user) this.setIn(users, id, { ...user, ...change });
      },
      delete: async (id) => {
        if (!this.deleteIn(users, id)) return;
        for (const key of [...keys.values()]) if (key.user_id === id) await this.keys.delete(key.id);
        for (const session of [...sessions.values()])
          if (session.user_id === id) this.deleteIn(sessions, session.id);
      },
    };
  }

  private sessionRepository(): SessionRepository {
    const { sessions, users } = this.data;
    const found = (session: SessionRecord | undefined): FoundSession | undefined => {
      const user = session ? users.get(session.user_id) : undefined;
      return session && user ? { session, user } : undefined;
    };
    return {
      insert: async (session) => this.setIn(sessions, session.id, { ...session }),
      findById: async (id) => found(sessions.get(id)),
      findByDigest: async (digest) => {
        for (const session of sessions.values()) if (session.digest === digest) return found(session);
        return undefined;
      },
      delete: async (id) => {
        this.deleteIn(sessions, id);
      },
      deleteForUser: async (userId, exceptId) => {
        const ended: string[] = [];
        for (const session of [...sessions.values()]) {
          if (session.user_id === userId && session.id !== exceptId) {
            this.deleteIn(sessions, session.id);
            ended.push(session.id);
          }
        }
        return ended;
      },
      prune: async (now) => {
        for (const session of [...sessions.values()])
          if (session.expires_at <= now) this.deleteIn(sessions, session.id);
      },
    };
  }

  private auditRepository(): AuditRepository {
    const { audit } = this.data;
    return {
      insert: async (event) => {
        const stored = { ...event };
        audit.push(stored);
        if (this.journal) this.journal.push(() => audit.splice(audit.lastIndexOf(stored), 1));
      },
      list: async (filter: AuditFilter, page) => {
        const all = audit
          .filter(
            (e) =>
              (filter.action === undefined || e.action === filter.action) &&
              (filter.outcome === undefined || e.outcome === filter.outcome) &&
              (filter.actorId === undefined || e.actor_id === filter.actorId) &&
              (filter.targetId === undefined || e.target_id === filter.targetId) &&
              (filter.clientIp === undefined || e.client_ip === filter.clientIp) &&
              (filter.since === undefined || e.at >= filter.since) &&
              (filter.until === undefined || e.at < filter.until),
          )
          .sort((a, b) => b.at.localeCompare(a.at) || b.id.localeCompare(a.id));
        return pageOf(all, page);
      },
    };
  }
}
