// One set of tests for every implementation of the storage interface: the memory store
// here, SQLite and Postgres in the server's suite. A store that passes behaves as the
// services expect, whatever it keeps the records in.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../src/audit/audit.record.js';
import type { KeyRecord } from '../src/keys/key.record.js';
import type { SessionRecord } from '../src/sessions/session.record.js';
import type { Store } from '../src/store/store.js';
import type { UserRecord } from '../src/users/user.record.js';
import type {
  AttemptRecord,
  DeliveryRecord,
  WebhookEventRecord,
  WebhookRecord,
} from '../src/webhooks/webhook.record.js';

export interface OpenedStore {
  store: Store;
  close(): Promise<void>;
}

const uuid = () => globalThis.crypto.randomUUID();
const at = (minute: number) => new Date(Date.UTC(2026, 10, 22, 12, minute)).toISOString();

function user(username: string, extra: Partial<UserRecord> = {}): UserRecord {
  return {
    id: uuid(),
    username,
    password_hash: 'hash',
    is_superuser: false,
    is_active: true,
    can_create_tokens: true,
    can_verify_keys: false,
    created_at: at(0),
    updated_at: at(0),
    ...extra,
  };
}

function key(owner: UserRecord, name: string, extra: Partial<KeyRecord> = {}): KeyRecord {
  return {
    id: uuid(),
    user_id: owner.id,
    name,
    start: 'lk_abcd',
    digest: `digest-${uuid()}`,
    pepper_id: 'p1',
    write_enabled: true,
    is_active: true,
    expires_at: null,
    allowed_ips: [],
    rate_limit: null,
    permissions: null,
    created_at: at(1),
    updated_at: at(1),
    last_used_at: null,
    last_used_ip: null,
    created_via: 'api',
    rotated_from_id: null,
    sealed_key: null,
    ...extra,
  };
}

function session(owner: UserRecord, extra: Partial<SessionRecord> = {}): SessionRecord {
  return {
    id: uuid(),
    user_id: owner.id,
    digest: `cookie-${uuid()}`,
    csrf_token: 'csrf',
    created_at: at(0),
    expires_at: at(30),
    ...extra,
  };
}

function webhook(name: string, extra: Partial<WebhookRecord> = {}): WebhookRecord {
  return {
    id: uuid(),
    name,
    description: '',
    url: 'https://hooks.example.com/in',
    events: null,
    is_active: true,
    sealed_secret: 'v1.sealed',
    sealed_previous_secret: null,
    previous_secret_expires_at: null,
    created_by: null,
    created_at: at(0),
    updated_at: at(0),
    disabled_reason: null,
    ...extra,
  };
}

function event(extra: Partial<WebhookEventRecord> = {}): WebhookEventRecord {
  const id = `msg_${uuid().replace(/-/g, '')}`;
  return {
    id,
    type: 'key.created',
    payload: JSON.stringify({ type: 'key.created', timestamp: at(0), data: { id } }),
    created_at: at(0),
    ...extra,
  };
}

function delivery(
  hook: WebhookRecord,
  ev: WebhookEventRecord,
  extra: Partial<DeliveryRecord> = {},
): DeliveryRecord {
  return {
    id: uuid(),
    webhook_id: hook.id,
    event_id: ev.id,
    event_type: ev.type,
    status: 'pending',
    attempt_count: 0,
    next_attempt_at: at(0),
    lease_owner: null,
    lease_until: null,
    created_at: at(0),
    completed_at: null,
    ...extra,
  };
}

function attempt(d: DeliveryRecord, number: number, extra: Partial<AttemptRecord> = {}): AttemptRecord {
  return {
    id: uuid(),
    delivery_id: d.id,
    number,
    at: at(number),
    duration_ms: 12,
    status_code: 500,
    outcome: 'http_error',
    error: 'The receiver answered 500',
    response_body: 'oops',
    ...extra,
  };
}

const ALL = { limit: 200, offset: 0 };

/** Runs the conformance suite against stores made by `open`, one fresh store for the suite. */
export function describeStoreConformance(name: string, open: () => Promise<OpenedStore>): void {
  describe(`storage conformance: ${name}`, () => {
    let opened: OpenedStore;
    let store: Store;
    beforeAll(async () => {
      opened = await open();
      store = opened.store;
    });
    afterAll(async () => {
      await opened?.close();
    });

    it('stores users, finds them by id and name, and refuses a taken username', async () => {
      const alice = user(`alice-${uuid().slice(0, 8)}`, {
        is_superuser: true,
        can_create_tokens: false,
        can_verify_keys: true,
      });
      expect(await store.users.insert(alice)).toBe(true);
      expect(await store.users.findById(alice.id)).toEqual(alice);
      expect(await store.users.findByUsername(alice.username)).toEqual(alice);
      expect(await store.users.insert({ ...user(alice.username), id: uuid() })).toBe(false);
      expect(await store.users.findById(uuid())).toBeUndefined();
      await store.users.update(alice.id, { is_active: false, updated_at: at(5) });
      expect(await store.users.findById(alice.id)).toEqual({ ...alice, is_active: false, updated_at: at(5) });
    });

    it('lists users oldest first, filtered and paged, and counts the other active superusers', async () => {
      const tag = uuid().slice(0, 6);
      const a = user(`l-a-${tag}`, { created_at: at(1), is_superuser: true });
      const b = user(`l-b-${tag}`, { created_at: at(2), is_superuser: true, is_active: false });
      const c = user(`l-c-${tag}`, { created_at: at(3), is_superuser: true });
      for (const u of [c, a, b]) await store.users.insert(u);
      const supers = await store.users.list({ isSuperuser: true, isActive: true }, ALL);
      const mine = supers.rows.filter((u) => u.username.endsWith(tag)).map((u) => u.username);
      expect(mine).toEqual([a.username, c.username]);
      const page = await store.users.list({}, { limit: 1, offset: 1 });
      expect(page.rows).toHaveLength(1);
      expect(page.count).toBeGreaterThanOrEqual(3);
      const others = await store.users.countOtherActiveSuperusers(a.id);
      expect(others).toBe(supers.count - 1);
    });

    it('stores keys, finds one by digest with its owner, and refuses a second key with the same digest', async () => {
      const owner = user(`k-${uuid().slice(0, 8)}`);
      await store.users.insert(owner);
      const k = key(owner, 'ci', {
        allowed_ips: ['10.0.0.0/8'],
        rate_limit: { limit: 5, window_s: 60 },
        permissions: ['keys:read', 'archive.*:write'],
      });
      expect(await store.keys.insert(k)).toBe(true);
      expect(await store.keys.findByDigest(k.digest)).toEqual({ key: k, user: owner });
      expect(await store.keys.findById(k.id)).toEqual(k);
      expect(await store.keys.insert({ ...key(owner, 'copy'), digest: k.digest })).toBe(false);
      expect(await store.keys.findByDigest('no such digest')).toBeUndefined();
      await store.keys.update(k.id, {
        name: 'renamed',
        write_enabled: false,
        allowed_ips: [],
        permissions: [],
        updated_at: at(9),
      });
      expect(await store.keys.findById(k.id)).toEqual({
        ...k,
        name: 'renamed',
        write_enabled: false,
        allowed_ips: [],
        permissions: [],
        updated_at: at(9),
      });
      expect(await store.keys.delete(k.id)).toBe(true);
      expect(await store.keys.delete(k.id)).toBe(false);
      expect(await store.keys.findByDigest(k.digest)).toBeUndefined();
    });

    it('lists keys newest first, by owner, state and expiry', async () => {
      const owner = user(`kl-${uuid().slice(0, 8)}`);
      await store.users.insert(owner);
      const old = key(owner, 'old', { created_at: at(1) });
      const off = key(owner, 'off', { created_at: at(2), is_active: false });
      const gone = key(owner, 'gone', { created_at: at(3), expires_at: at(10) });
      const later = key(owner, 'later', { created_at: at(4), expires_at: at(50) });
      for (const k of [old, off, gone, later]) await store.keys.insert(k);
      const names = async (filter: Parameters<Store['keys']['list']>[0], page = ALL) =>
        (await store.keys.list(filter, page)).rows.map((k) => k.name);
      const now = at(20);
      expect(await names({ userId: owner.id, now })).toEqual(['later', 'gone', 'off', 'old']);
      expect(await names({ userId: owner.id, isActive: false, now })).toEqual(['off']);
      expect(await names({ userId: owner.id, expired: true, now })).toEqual(['gone']);
      expect(await names({ userId: owner.id, expired: false, now })).toEqual(['later', 'off', 'old']);
      expect(await names({ userId: owner.id, now }, { limit: 2, offset: 1 })).toEqual(['gone', 'off']);
      expect((await store.keys.list({ userId: owner.id, now }, { limit: 1, offset: 0 })).count).toBe(4);
      expect(await names({ userId: owner.id, now }, { limit: 10, offset: 1_000_000 })).toEqual([]);
    });

    it('claims a key for rotation once: never with a stale state, never after it has a successor', async () => {
      const owner = user(`r-${uuid().slice(0, 8)}`);
      await store.users.insert(owner);
      const k = key(owner, 'rotating');
      await store.keys.insert(k);
      const claim = { expires_at: at(40), updated_at: at(2) };
      expect(await store.keys.claimForRotation(k.id, { ...k, updated_at: at(0) }, claim)).toBe(false);
      expect(await store.keys.claimForRotation(k.id, k, claim)).toBe(true);
      expect(await store.keys.findById(k.id)).toMatchObject(claim);
      await store.keys.insert(key(owner, 'successor', { rotated_from_id: k.id }));
      // Even with the state just read, a key that has a successor is not claimed again.
      expect(
        await store.keys.claimForRotation(
          k.id,
          { ...k, ...claim },
          { expires_at: at(41), updated_at: at(3) },
        ),
      ).toBe(false);
      const off = key(owner, 'off', { is_active: false });
      await store.keys.insert(off);
      expect(await store.keys.claimForRotation(off.id, off, claim)).toBe(false);
    });

    it('finds the newest issued token that still works', async () => {
      const owner = user(`t-${uuid().slice(0, 8)}`);
      await store.users.insert(owner);
      const issued = { created_via: 'get_api_token' as const, sealed_key: 'sealed' };
      await store.keys.insert(key(owner, 'older', { ...issued, created_at: at(1), expires_at: at(50) }));
      const newest = key(owner, 'newest', { ...issued, created_at: at(2), expires_at: at(50) });
      await store.keys.insert(newest);
      await store.keys.insert(key(owner, 'expired', { ...issued, created_at: at(3), expires_at: at(10) }));
      await store.keys.insert(
        key(owner, 'inactive', { ...issued, created_at: at(4), expires_at: at(50), is_active: false }),
      );
      await store.keys.insert(key(owner, 'not issued', { created_at: at(5), expires_at: at(50) }));
      expect((await store.keys.newestIssuedToken(owner.id, at(20)))?.id).toBe(newest.id);
      expect(await store.keys.newestIssuedToken(owner.id, at(55))).toBeUndefined();
    });

    it('records last use without touching anything else', async () => {
      const owner = user(`u-${uuid().slice(0, 8)}`);
      await store.users.insert(owner);
      const k = key(owner, 'used');
      await store.keys.insert(k);
      await store.keys.recordUsage([
        { id: k.id, at: at(7), ip: '198.51.100.7' },
        { id: uuid(), at: at(7), ip: '198.51.100.8' },
      ]);
      expect(await store.keys.findById(k.id)).toEqual({
        ...k,
        last_used_at: at(7),
        last_used_ip: '198.51.100.7',
      });
    });

    it('keeps sessions with their owner, ends them per user, and prunes expired ones', async () => {
      const owner = user(`s-${uuid().slice(0, 8)}`);
      await store.users.insert(owner);
      const one = session(owner);
      const two = session(owner);
      const old = session(owner, { expires_at: at(5) });
      for (const s of [one, two, old]) await store.sessions.insert(s);
      expect(await store.sessions.findById(one.id)).toEqual({ session: one, user: owner });
      expect(await store.sessions.findByDigest(two.digest)).toEqual({ session: two, user: owner });
      await store.sessions.prune(at(10));
      expect(await store.sessions.findById(old.id)).toBeUndefined();
      expect(await store.sessions.deleteForUser(owner.id, one.id)).toEqual([two.id]);
      expect(await store.sessions.findById(one.id)).toBeDefined();
      await store.sessions.delete(one.id);
      expect(await store.sessions.findById(one.id)).toBeUndefined();
    });

    it('deletes a user with their keys and sessions', async () => {
      const owner = user(`d-${uuid().slice(0, 8)}`);
      await store.users.insert(owner);
      const k = key(owner, 'doomed');
      const s = session(owner);
      await store.keys.insert(k);
      await store.sessions.insert(s);
      await store.users.delete(owner.id);
      expect(await store.users.findById(owner.id)).toBeUndefined();
      expect(await store.keys.findById(k.id)).toBeUndefined();
      expect(await store.keys.findByDigest(k.digest)).toBeUndefined();
      expect(await store.sessions.findById(s.id)).toBeUndefined();
    });

    it('keeps the audit log, newest first, filtered', async () => {
      const actor = uuid();
      const event = (minute: number, extra: Partial<AuditEvent> = {}): AuditEvent => ({
        id: uuid(),
        at: at(minute),
        action: 'key.created',
        outcome: 'success',
        actor_id: actor,
        actor_username: 'alice',
        client_ip: '192.0.2.1',
        target_type: 'key',
        target_id: 'k',
        detail: 'ci',
        ...extra,
      });
      const first = event(1);
      const failed = event(2, { action: 'auth.failed', outcome: 'failure' });
      const last = event(3, { client_ip: '192.0.2.2' });
      for (const e of [first, failed, last]) await store.audit.insert(e);
      const ids = async (filter: Parameters<Store['audit']['list']>[0]) =>
        (await store.audit.list({ actorId: actor, ...filter }, ALL)).rows.map((e) => e.id);
      expect(await ids({})).toEqual([last.id, failed.id, first.id]);
      expect(await ids({ outcome: 'failure' })).toEqual([failed.id]);
      expect(await ids({ action: 'key.created', clientIp: '192.0.2.1' })).toEqual([first.id]);
      expect(await ids({ since: at(2), until: at(3) })).toEqual([failed.id]);
      expect((await store.audit.list({ actorId: actor }, { limit: 1, offset: 1 })).rows[0]).toEqual(failed);
    });

    it('stores webhooks, lists them oldest first and the active ones, changes and deletes them', async () => {
      const a = webhook('wh-a', { created_at: at(1), events: ['key.created', 'user.deleted'] });
      const b = webhook('wh-b', { created_at: at(2), is_active: false, description: 'off' });
      for (const w of [b, a]) await store.webhooks.insert(w);
      expect(await store.webhooks.findById(a.id)).toEqual(a);
      expect(await store.webhooks.findById(uuid())).toBeUndefined();
      const listed = (await store.webhooks.list(ALL)).rows.filter((w) => w.id === a.id || w.id === b.id);
      expect(listed).toEqual([a, b]);
      expect((await store.webhooks.listActive()).map((w) => w.id)).toContain(a.id);
      expect((await store.webhooks.listActive()).map((w) => w.id)).not.toContain(b.id);
      const change = {
        events: null,
        is_active: false,
        sealed_previous_secret: 'v1.old',
        previous_secret_expires_at: at(9),
        disabled_reason: 'gone',
        updated_at: at(5),
      };
      await store.webhooks.update(a.id, change);
      expect(await store.webhooks.findById(a.id)).toEqual({ ...a, ...change });
      expect(await store.webhooks.delete(a.id)).toBe(true);
      expect(await store.webhooks.delete(a.id)).toBe(false);
      expect(await store.webhooks.findById(a.id)).toBeUndefined();
    });

    it('keeps the outbox: events with their deliveries, newest first, with payload and attempts', async () => {
      const hook = webhook('wh-log');
      await store.webhooks.insert(hook);
      const first = event({ created_at: at(1) });
      const second = event({ created_at: at(2), type: 'user.created' });
      const d1 = delivery(hook, first, { created_at: at(1) });
      const d2 = delivery(hook, second, { created_at: at(2), status: 'failed', next_attempt_at: null });
      await store.webhooks.insertEvent(first, [d1]);
      await store.webhooks.insertEvent(second, [d2]);
      expect(await store.webhooks.findEvent(first.id)).toEqual(first);
      expect(await store.webhooks.findDelivery(hook.id, d1.id)).toEqual({
        ...d1,
        payload: first.payload,
        attempts: [],
      });
      expect(await store.webhooks.findDelivery(uuid(), d1.id)).toBeUndefined();
      const all = await store.webhooks.listDeliveries(hook.id, {}, ALL);
      expect(all.count).toBe(2);
      expect(all.rows.map((d) => d.id)).toEqual([d2.id, d1.id]);
      const failed = await store.webhooks.listDeliveries(hook.id, { status: 'failed' }, ALL);
      expect(failed.rows.map((d) => d.id)).toEqual([d2.id]);
      const paged = await store.webhooks.listDeliveries(hook.id, {}, { limit: 1, offset: 1 });
      expect(paged).toMatchObject({ count: 2, rows: [{ id: d1.id }] });
      // A second delivery of the same event (a redelivery).
      const again = delivery(hook, first, { created_at: at(3) });
      await store.webhooks.insertDelivery(again);
      expect((await store.webhooks.findDelivery(hook.id, again.id))?.payload).toBe(first.payload);
      expect(await store.webhooks.delete(hook.id)).toBe(true);
      expect(await store.webhooks.findDelivery(hook.id, d1.id)).toBeUndefined();
    });

    it('claims due deliveries once, under a lease, records attempts only for the lease holder, and releases', async () => {
      const hook = webhook('wh-claim');
      const off = webhook('wh-claim-off', { is_active: false });
      for (const w of [hook, off]) await store.webhooks.insert(w);
      const ev = event();
      const due = [0, 1, 2, 3].map((m) => delivery(hook, ev, { next_attempt_at: at(10 + m) }));
      const later = delivery(hook, ev, { next_attempt_at: at(50) });
      const done = delivery(hook, ev, { status: 'delivered', next_attempt_at: null, completed_at: at(1) });
      const inactive = delivery(off, ev, { next_attempt_at: at(10) });
      await store.webhooks.insertEvent(ev, [...due, later, done, inactive]);
      const pendingBefore = await store.webhooks.countPending();

      // Two claims at the same moment share the due deliveries without overlap.
      const [a, b] = await Promise.all([
        store.webhooks.claimDue(at(20), 3, 'owner-a', at(25)),
        store.webhooks.claimDue(at(20), 3, 'owner-b', at(25)),
      ]);
      const ids = [...a, ...b].map((c) => c.delivery.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.sort()).toEqual(due.map((d) => d.id).sort());
      const claimed = [...a, ...b].find((c) => c.delivery.id === due[0]?.id);
      expect(claimed?.webhook).toEqual(hook);
      expect(claimed?.event).toEqual(ev);
      expect(claimed?.delivery.lease_until).toBe(at(25));
      // Leased: nothing more before the lease ends.
      expect(await store.webhooks.claimDue(at(21), 10, 'owner-c', at(30))).toEqual([]);

      const [mine] = a;
      if (!mine) throw new Error('owner-a claimed nothing');
      const stranger = attempt(mine.delivery, 1);
      const change = {
        status: 'pending' as const,
        attempt_count: 1,
        next_attempt_at: at(40),
        completed_at: null,
      };
      expect(await store.webhooks.recordAttempt(stranger, change, 'owner-b')).toBe(false);
      expect(await store.webhooks.recordAttempt(attempt(mine.delivery, 1), change, 'owner-a')).toBe(true);
      const recorded = await store.webhooks.findDelivery(hook.id, mine.delivery.id);
      expect(recorded).toMatchObject({ ...change, lease_owner: null, lease_until: null });
      expect(recorded?.attempts.map((x) => [x.number, x.status_code, x.outcome, x.response_body])).toEqual([
        [1, 500, 'http_error', 'oops'],
      ]);

      // owner-b gives back what it holds; after its lease ends, a lease of owner-a is taken over.
      expect(await store.webhooks.release('owner-b')).toBe(b.length);
      const retaken = await store.webhooks.claimDue(at(21), 10, 'owner-c', at(30));
      expect(retaken.map((c) => c.delivery.id).sort()).toEqual(b.map((c) => c.delivery.id).sort());
      const expired = await store.webhooks.claimDue(at(26), 10, 'owner-d', at(35));
      expect(expired.map((c) => c.delivery.id).sort()).toEqual(
        a
          .slice(1)
          .map((c) => c.delivery.id)
          .sort(),
      );
      expect(await store.webhooks.countPending()).toBe(pendingBefore);

      // Switched off: every pending delivery of the webhook fails.
      expect(await store.webhooks.failPending(hook.id, at(30))).toBe(5);
      expect(await store.webhooks.countPending()).toBe(pendingBefore - 5);
      expect(await store.webhooks.claimDue(at(59), 10, 'owner-e', at(60))).toEqual([]);
      const failed = await store.webhooks.findDelivery(hook.id, later.id);
      expect(failed).toMatchObject({ status: 'failed', next_attempt_at: null, completed_at: at(30) });
    });

    it('finds keys whose expiry needs a notice, records each notice once, and forgets them with the key', async () => {
      const owner = user(`exp-${uuid().slice(0, 8)}`);
      await store.users.insert(owner);
      const soon = key(owner, 'soon', { expires_at: at(40) });
      const far = key(owner, 'far', { expires_at: at(55) });
      const off = key(owner, 'off', { expires_at: at(40), is_active: false });
      const never = key(owner, 'never');
      for (const k of [soon, far, off, never]) await store.keys.insert(k);
      const mine = async (kind: string) =>
        (await store.webhooks.keysToNotify(kind, at(30), at(50), 100))
          .filter(({ user: u }) => u.id === owner.id)
          .map(({ key: k }) => k.name);
      expect(await mine('expiring:7d')).toEqual(['soon']);
      const found = (await store.webhooks.keysToNotify('expiring:7d', at(30), at(50), 100)).find(
        ({ key: k }) => k.id === soon.id,
      );
      expect(found).toEqual({ key: soon, user: owner });
      expect(await store.webhooks.recordNotices(soon.id, at(40), ['expiring:7d', 'expiring:1d'])).toEqual([
        'expiring:7d',
        'expiring:1d',
      ]);
      expect(await store.webhooks.recordNotices(soon.id, at(40), ['expired', 'expiring:1d'])).toEqual([
        'expired',
      ]);
      expect(await mine('expiring:7d')).toEqual([]);
      expect(await mine('expired')).toEqual([]);
      // A new expiry is a new key as far as notices go.
      await store.keys.update(soon.id, { expires_at: at(45) });
      expect(await mine('expiring:7d')).toEqual(['soon']);
      await store.keys.delete(soon.id);
      expect(await mine('expiring:7d')).toEqual([]);
      const again = key(owner, 'again', { expires_at: at(41) });
      await store.keys.insert(again);
      expect(await store.webhooks.recordNotices(again.id, at(41), ['expired'])).toEqual(['expired']);
    });

    it('prunes deliveries that ended before a time, and the events left without one', async () => {
      const hook = webhook('wh-prune');
      await store.webhooks.insert(hook);
      const old = event({ created_at: at(1) });
      const kept = event({ created_at: at(1) });
      const oldDone = delivery(hook, old, {
        status: 'delivered',
        completed_at: at(2),
        next_attempt_at: null,
      });
      const keptPending = delivery(hook, kept);
      await store.webhooks.insertEvent(old, [oldDone]);
      await store.webhooks.insertEvent(kept, [keptPending]);
      await store.webhooks.prune(at(10));
      expect(await store.webhooks.findDelivery(hook.id, oldDone.id)).toBeUndefined();
      expect(await store.webhooks.findEvent(old.id)).toBeUndefined();
      expect(await store.webhooks.findDelivery(hook.id, keptPending.id)).toBeDefined();
      expect(await store.webhooks.findEvent(kept.id)).toEqual(kept);
    });

    it('runs what waits for a commit after it, never after a rollback, and at once outside a transaction', async () => {
      const ran: string[] = [];
      store.afterCommit(() => ran.push('outside'));
      expect(ran).toEqual(['outside']);
      await store.transaction(async (tx) => {
        tx.afterCommit(() => ran.push('committed'));
        await tx.transaction(async (inner) => {
          inner.afterCommit(() => ran.push('joined'));
        });
        expect(ran).toEqual(['outside']);
      });
      expect(ran).toEqual(['outside', 'committed', 'joined']);
      await expect(
        store.transaction(async (tx) => {
          tx.afterCommit(() => ran.push('rolled back'));
          throw new Error('no');
        }),
      ).rejects.toThrow('no');
      expect(ran).toEqual(['outside', 'committed', 'joined']);
    });

    it('commits a transaction whole or not at all, and lets work inside it join it', async () => {
      const before = await store.counts();
      const owner = user(`x-${uuid().slice(0, 8)}`);
      await expect(
        store.transaction(async (tx) => {
          await tx.users.insert(owner);
          await tx.keys.insert(key(owner, 'half'));
          await tx.transaction(async (inner) => {
            expect(await inner.users.findById(owner.id)).toEqual(owner);
          });
          throw new Error('changed my mind');
        }),
      ).rejects.toThrow('changed my mind');
      expect(await store.counts()).toEqual(before);
      expect(await store.users.findById(owner.id)).toBeUndefined();
      const kept = await store.transaction(
        async (tx) => {
          await tx.users.insert(owner);
          return tx.users.findById(owner.id);
        },
        { lock: 'conformance' },
      );
      expect(kept).toEqual(owner);
      expect((await store.counts()).users).toBe(before.users + 1);
      expect(await store.ping()).toBe(true);
    });

    it('runs transactions that name the same lock one after the other', async () => {
      const order: string[] = [];
      const slow = store.transaction(
        async () => {
          order.push('a:start');
          await new Promise((resolve) => setTimeout(resolve, 50));
          order.push('a:end');
        },
        { lock: 'conformance-order' },
      );
      await new Promise((resolve) => setTimeout(resolve, 5));
      const fast = store.transaction(
        async () => {
          order.push('b');
        },
        { lock: 'conformance-order' },
      );
      await Promise.all([slow, fast]);
      expect(order).toEqual(['a:start', 'a:end', 'b']);
    });
  });
}
