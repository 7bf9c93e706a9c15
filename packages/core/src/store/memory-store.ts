import type { AuditEvent, AuditFilter } from '../audit/audit.record.js';
import type { KeyRecord } from '../keys/key.record.js';
import type { FoundSession, SessionRecord } from '../sessions/session.record.js';
import type { UserRecord } from '../users/user.record.js';
import type {
  AttemptRecord,
  DeliveryRecord,
  DeliveryWithAttempts,
  WebhookEventRecord,
  WebhookRecord,
} from '../webhooks/webhook.record.js';
import type {
  AuditRepository,
  DeliveryChange,
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
  WebhookRepository,
} from './store.js';

/** Everything one memory store holds. Records are replaced on change, never changed in place. */
interface MemoryData {
  users: Map<string, UserRecord>;
  keys: Map<string, KeyRecord>;
  keyByDigest: Map<string, string>;
  sessions: Map<string, SessionRecord>;
  audit: AuditEvent[];
  webhooks: Map<string, WebhookRecord>;
  webhookEvents: Map<string, WebhookEventRecord>;
  deliveries: Map<string, DeliveryRecord>;
  /** Attempts by delivery id, oldest first. */
  attempts: Map<string, AttemptRecord[]>;
  /** Notices of keys' expiry: `key id|kind|expires_at`. */
  notices: Map<string, true>;
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
  readonly webhooks: WebhookRepository;
  private readonly data: MemoryData;

  constructor(data?: MemoryData, journal?: Undo[], commitHooks?: (() => void)[]) {
    this.data = data ?? {
      users: new Map(),
      keys: new Map(),
      keyByDigest: new Map(),
      sessions: new Map(),
      audit: [],
      webhooks: new Map(),
      webhookEvents: new Map(),
      deliveries: new Map(),
      attempts: new Map(),
      notices: new Map(),
      queue: Promise.resolve(),
    };
    this.journal = journal;
    this.commitHooks = commitHooks;
    this.keys = this.keyRepository();
    this.users = this.userRepository();
    this.sessions = this.sessionRepository();
    this.audit = this.auditRepository();
    this.webhooks = this.webhookRepository();
  }

  /** Undo steps of the transaction this view belongs to; undefined outside one. */
  private readonly journal: Undo[] | undefined;
  /** What runs once the transaction this view belongs to commits. */
  private readonly commitHooks: (() => void)[] | undefined;

  afterCommit(fn: () => void): void {
    if (this.commitHooks) this.commitHooks.push(fn);
    else fn();
  }

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
    const hooks: (() => void)[] = [];
    let result: T;
    try {
      result = await work(new MemoryStore(this.data, journal, hooks));
    } catch (err) {
      for (const undo of journal.reverse()) undo();
      throw err;
    } finally {
      release();
    }
    for (const hook of hooks) hook();
    return result;
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
        for (const notice of [...this.data.notices.keys()])
          if (notice.startsWith(`${id}|`)) this.deleteIn(this.data.notices, notice);
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

  private withAttempts(delivery: DeliveryRecord): DeliveryWithAttempts {
    return {
      ...delivery,
      payload: this.data.webhookEvents.get(delivery.event_id)?.payload ?? '{}',
      attempts: [...(this.data.attempts.get(delivery.id) ?? [])],
    };
  }

  private webhookRepository(): WebhookRepository {
    const { webhooks, webhookEvents, deliveries, attempts, notices, keys } = this.data;
    const deleteDelivery = (id: string) => {
      this.deleteIn(deliveries, id);
      this.deleteIn(attempts, id);
    };
    return {
      insert: async (webhook) => {
        this.setIn(webhooks, webhook.id, { ...webhook });
      },
      findById: async (id) => webhooks.get(id),
      list: async (page) =>
        pageOf(
          [...webhooks.values()].sort(
            (a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id),
          ),
          page,
        ),
      listActive: async () => [...webhooks.values()].filter((w) => w.is_active),
      update: async (id, change) => {
        const webhook = webhooks.get(id);
        if (webhook) this.setIn(webhooks, id, { ...webhook, ...change });
      },
      delete: async (id) => {
        if (!this.deleteIn(webhooks, id)) return false;
        for (const d of [...deliveries.values()]) if (d.webhook_id === id) deleteDelivery(d.id);
        return true;
      },
      insertEvent: async (event, list) => {
        this.setIn(webhookEvents, event.id, { ...event });
        for (const d of list) this.setIn(deliveries, d.id, { ...d });
      },
      insertDelivery: async (delivery) => {
        this.setIn(deliveries, delivery.id, { ...delivery });
      },
      findEvent: async (id) => webhookEvents.get(id),
      findDelivery: async (webhookId, id) => {
        const d = deliveries.get(id);
        return d && d.webhook_id === webhookId ? this.withAttempts(d) : undefined;
      },
      listDeliveries: async (webhookId, filter, page) => {
        const all = [...deliveries.values()]
          .filter(
            (d) => d.webhook_id === webhookId && (filter.status === undefined || d.status === filter.status),
          )
          .sort(newestFirst);
        const { count, rows } = pageOf(all, page);
        return { count, rows: rows.map((d) => this.withAttempts(d)) };
      },
      claimDue: async (now, limit, owner, leaseUntil) => {
        const due = [...deliveries.values()]
          .filter(
            (d) =>
              d.status === 'pending' &&
              d.next_attempt_at !== null &&
              d.next_attempt_at <= now &&
              (d.lease_until === null || d.lease_until <= now) &&
              webhooks.get(d.webhook_id)?.is_active === true &&
              webhookEvents.has(d.event_id),
          )
          .sort(
            (a, b) =>
              (a.next_attempt_at ?? '').localeCompare(b.next_attempt_at ?? '') || a.id.localeCompare(b.id),
          )
          .slice(0, limit);
        return due.map((d) => {
          const claimed = { ...d, lease_owner: owner, lease_until: leaseUntil };
          this.setIn(deliveries, d.id, claimed);
          return {
            delivery: claimed,
            webhook: webhooks.get(d.webhook_id) as WebhookRecord,
            event: webhookEvents.get(d.event_id) as WebhookEventRecord,
          };
        });
      },
      recordAttempt: async (attempt, change: DeliveryChange, owner) => {
        const d = deliveries.get(attempt.delivery_id);
        if (!d || d.lease_owner !== owner) return false;
        this.setIn(deliveries, d.id, { ...d, ...change, lease_owner: null, lease_until: null });
        this.setIn(attempts, d.id, [...(attempts.get(d.id) ?? []), { ...attempt }]);
        return true;
      },
      release: async (owner) => {
        let n = 0;
        for (const d of [...deliveries.values()]) {
          if (d.lease_owner === owner) {
            this.setIn(deliveries, d.id, { ...d, lease_owner: null, lease_until: null });
            n++;
          }
        }
        return n;
      },
      failPending: async (webhookId, now) => {
        let n = 0;
        for (const d of [...deliveries.values()]) {
          if (d.webhook_id === webhookId && d.status === 'pending') {
            this.setIn(deliveries, d.id, {
              ...d,
              status: 'failed',
              next_attempt_at: null,
              completed_at: now,
              lease_owner: null,
              lease_until: null,
            });
            n++;
          }
        }
        return n;
      },
      countPending: async () => [...deliveries.values()].filter((d) => d.status === 'pending').length,
      keysToNotify: async (kind, from, to, limit) =>
        [...keys.values()]
          .filter(
            (k) =>
              k.is_active &&
              k.expires_at !== null &&
              k.expires_at > from &&
              k.expires_at <= to &&
              !notices.has(`${k.id}|${kind}|${k.expires_at}`),
          )
          .sort((a, b) => (a.expires_at ?? '').localeCompare(b.expires_at ?? '') || a.id.localeCompare(b.id))
          .slice(0, limit)
          .flatMap((key) => this.withOwner(key) ?? []),
      recordNotices: async (keyId, expiresAt, kinds) => {
        if (!keys.has(keyId)) throw new Error(`no key ${keyId}`);
        const added: string[] = [];
        for (const kind of kinds) {
          const id = `${keyId}|${kind}|${expiresAt}`;
          if (notices.has(id)) continue;
          this.setIn(notices, id, true);
          added.push(kind);
        }
        return added;
      },
      prune: async (before) => {
        for (const d of [...deliveries.values()])
          if (d.completed_at !== null && d.completed_at < before) deleteDelivery(d.id);
        const used = new Set([...deliveries.values()].map((d) => d.event_id));
        for (const e of [...webhookEvents.values()])
          if (!used.has(e.id) && e.created_at < before) this.deleteIn(webhookEvents, e.id);
      },
    };
  }
}
