import { CLI_ACTOR, CONTRACT, type UserRecord } from '@latchkey/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem, expectStatus, type Reply } from './support/expect.js';
import {
  basic,
  describeEachDialect,
  PASSWORD,
  startTestServer,
  type TestServer,
} from './support/test-server.js';

// The admin API: superusers only; every key and user, lockouts, and the audit log.

type Headers = Record<string, string>;

const UNKNOWN_ID = '3f1c9a52-0d7e-4b8a-9c61-5e2f7d4a1b90';
const NEW_PASSWORD = 'an entirely new passphrase 7';
const LOCKED_ADDRESS = '203.0.113.7';
const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

/** One request to each admin operation, with a body that passes the contract. */
function adminCalls(ids: { userId: string; keyId: string }) {
  return [
    { op: 'adminListKeys', method: 'GET', path: '/admin/keys' },
    { op: 'adminDeleteKey', method: 'DELETE', path: `/admin/keys/${ids.keyId}` },
    { op: 'adminActivateKey', method: 'POST', path: `/admin/keys/${ids.keyId}/activate` },
    { op: 'adminDeactivateKey', method: 'POST', path: `/admin/keys/${ids.keyId}/deactivate` },
    { op: 'adminListUsers', method: 'GET', path: '/admin/users' },
    {
      op: 'adminCreateUser',
      method: 'POST',
      path: '/admin/users',
      json: { username: 'intruder', password: 'intruder-password-1', is_superuser: true },
    },
    { op: 'adminGetUser', method: 'GET', path: `/admin/users/${ids.userId}` },
    {
      op: 'adminUpdateUser',
      method: 'PATCH',
      path: `/admin/users/${ids.userId}`,
      json: { is_superuser: true },
    },
    { op: 'adminDeleteUser', method: 'DELETE', path: `/admin/users/${ids.userId}` },
    {
      op: 'adminResetPassword',
      method: 'POST',
      path: `/admin/users/${ids.userId}/password`,
      json: { password: NEW_PASSWORD },
    },
    { op: 'adminListLockouts', method: 'GET', path: '/admin/lockouts' },
    { op: 'adminClearLockout', method: 'DELETE', path: `/admin/lockouts/${LOCKED_ADDRESS}` },
    { op: 'adminListAuditEvents', method: 'GET', path: '/admin/audit-events' },
  ] as { op: string; method: string; path: string; json?: unknown }[];
}

/** The operationIds of the contract's `admin` tag. */
function adminOperationIds(): string[] {
  const doc = CONTRACT as {
    paths: Record<string, Record<string, { operationId?: string; tags?: string[] }>>;
  };
  return Object.values(doc.paths)
    .flatMap((item) => Object.values(item))
    .filter((op) => typeof op === 'object' && op?.tags?.includes('admin'))
    .map((op) => op.operationId as string)
    .sort();
}

function api(s: TestServer, headers: Headers) {
  return {
    get: (p: string) => s.call(`/api/v1${p}`, { headers }),
    post: (p: string, json?: unknown) => s.call(`/api/v1${p}`, { method: 'POST', headers, json }),
    patch: (p: string, json: unknown) => s.call(`/api/v1${p}`, { method: 'PATCH', headers, json }),
    del: (p: string) => s.call(`/api/v1${p}`, { method: 'DELETE', headers }),
    call: (method: string, p: string, json?: unknown) => s.call(`/api/v1${p}`, { method, headers, json }),
  };
}

const xApiKey = (key: string): Headers => ({ 'x-api-key': key });

async function login(s: TestServer, username: string, password = PASSWORD) {
  const r = await s.call('/api/v1/auth/login', { method: 'POST', json: { username, password } });
  expectStatus(r, 200);
  return { jwt: { authorization: `Bearer ${r.body.token}` } as Headers, body: r.body };
}

const whoami = (s: TestServer, headers: Headers) => s.call('/api/v1/auth/whoami', { headers });

/** The stored rows, as the database holds them. */
const storedUser = (s: TestServer, id: string) =>
  s.app.storage.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
const storedKey = (s: TestServer, id: string) =>
  s.app.storage.db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();

describeEachDialect('admin API', (dialect) => {
  let s: TestServer;
  let root: UserRecord;
  let rootKey: string;
  let admin: ReturnType<typeof api>;
  let n = 0;
  const fresh = (prefix: string) => `${prefix}-${++n}`;

  beforeAll(async () => {
    s = await startTestServer(dialect);
    root = await s.createUser('root', { superuser: true });
    rootKey = (await s.createKey(root, { name: 'root key' })).key;
    admin = api(s, xApiKey(rootKey));
  });
  afterAll(() => s.close());

  describe('who may call it', () => {
    it('covers every admin operation of the contract in the loops below', () => {
      const ops = adminCalls({ userId: UNKNOWN_ID, keyId: UNKNOWN_ID }).map((c) => c.op);
      expect(ops.sort()).toEqual(adminOperationIds());
      expect(ops.length).toBe(13);
    });

    it('refuses a non-superuser with 403 SUPERUSER_REQUIRED on every operation, and changes nothing', async () => {
      const bob = await s.createUser(fresh('bob'));
      const bobKey = await s.createKey(bob);
      const victim = await s.createUser(fresh('victim'));
      const victimKey = await s.createKey(victim);
      const usersBefore = (await s.app.services.store.counts()).users;
      // Every credential a non-superuser may bring is refused the same way.
      const credentials: Headers[] = [
        xApiKey(bobKey.key),
        (await login(s, bob.username)).jwt,
        { authorization: basic(bob.username) },
      ];
      for (const headers of credentials) {
        for (const call of adminCalls({ userId: victim.id, keyId: victimKey.id })) {
          const r = await api(s, headers).call(call.method, call.path, call.json);
          expectProblem(r, 403, 'SUPERUSER_REQUIRED');
          expect(r.body.detail, call.op).toMatch(/needs a superuser/);
          expect(r.body.detail).toMatch(/make sure the user is a superuser/);
        }
      }
      expect((await s.app.services.store.counts()).users).toBe(usersBefore);
      expect(await s.app.services.store.users.findByUsername('intruder')).toBeUndefined();
      expect(await storedUser(s, victim.id)).toMatchObject({
        is_superuser: 0,
        password_hash: victim.password_hash,
      });
      expect(await storedKey(s, victimKey.id)).toMatchObject({ is_active: 1 });
      const audit = await admin.get(`/admin/audit-events?actor_id=${bob.id}`);
      expect(audit.body.results.filter((e: { action: string }) => e.action.startsWith('user.'))).toEqual([]);
    });

    it('refuses every write to a read-only superuser key with 403, and lets it read', async () => {
      const readOnly = await s.createKey(root, { name: 'read-only root', write_enabled: false });
      const victim = await s.createUser(fresh('victim'));
      const victimKey = await s.createKey(victim);
      for (const call of adminCalls({ userId: victim.id, keyId: victimKey.id })) {
        const r = await api(s, xApiKey(readOnly.key)).call(call.method, call.path, call.json);
        if (call.method === 'GET') {
          expectStatus(r, 200);
        } else {
          expectProblem(r, 403, 'KEY_READ_ONLY');
        }
      }
      expect(await storedUser(s, victim.id)).toMatchObject({ is_superuser: 0, is_active: 1 });
      expect(await storedKey(s, victimKey.id)).toMatchObject({ is_active: 1 });
    });

    it('answers 401 without a credential', async () => {
      for (const call of adminCalls({ userId: UNKNOWN_ID, keyId: UNKNOWN_ID })) {
        const r = await api(s, {}).call(call.method, call.path, call.json);
        expectProblem(r, 401, 'AUTHENTICATION_REQUIRED');
      }
    });
  });

  describe('keys of every user', () => {
    it('lists them with filters (user, active, expired) and pages like listKeys', async () => {
      const carol = await s.createUser(fresh('carol'));
      const dave = await s.createUser(fresh('dave'));
      // Keys apart by a few milliseconds, so that "newest first" has one answer.
      const c1 = await s.createKey(carol, { name: 'c1' });
      await tick();
      const c2 = await s.createKey(carol, { name: 'c2' });
      await tick();
      const c3 = await s.createKey(carol, {
        name: 'c3',
        expires_at: new Date(Date.now() + 3_600_000).toISOString(),
      });
      const d1 = await s.createKey(dave, { name: 'd1' });
      await s.app.services.keys.setActive(CLI_ACTOR, 'any', c2.id, false);
      // c3 expired a minute ago.
      await s.app.storage.db
        .updateTable('api_keys')
        .set({ expires_at: new Date(Date.now() - 60_000).toISOString() })
        .where('id', '=', c3.id)
        .execute();

      const ids = (r: Reply) => r.body.results.map((k: { id: string }) => k.id);
      const all = await admin.get('/admin/keys?limit=200');
      expectStatus(all, 200);
      expect(ids(all)).toEqual(expect.arrayContaining([c1.id, c2.id, c3.id, d1.id]));
      expect(all.body.count).toBe(all.body.results.length);
      for (const key of all.body.results) {
        expect(key).not.toHaveProperty('key');
        expect(key).not.toHaveProperty('digest');
      }

      const carols = await admin.get(`/admin/keys?user_id=${carol.id}`);
      expect(carols.body).toMatchObject({ count: 3, next: null, previous: null });
      // Newest first.
      expect(ids(carols)).toEqual([c3.id, c2.id, c1.id]);
      expect(carols.body.results[0]).toMatchObject({ name: 'c3', user_id: carol.id, is_active: true });

      expect(ids(await admin.get(`/admin/keys?user_id=${carol.id}&is_active=false`))).toEqual([c2.id]);
      expect(ids(await admin.get(`/admin/keys?user_id=${carol.id}&is_active=true`))).toEqual([c3.id, c1.id]);
      expect(ids(await admin.get(`/admin/keys?user_id=${carol.id}&expired=true`))).toEqual([c3.id]);
      expect(ids(await admin.get(`/admin/keys?user_id=${carol.id}&expired=false`))).toEqual([c2.id, c1.id]);
      expect(ids(await admin.get(`/admin/keys?user_id=${carol.id}&expired=false&is_active=true`))).toEqual([
        c1.id,
      ]);
      const expiredEverywhere = ids(await admin.get('/admin/keys?expired=true&limit=200'));
      expect(expiredEverywhere).toContain(c3.id);
      expect(expiredEverywhere).not.toContain(d1.id);

      const page1 = await admin.get(`/admin/keys?user_id=${carol.id}&limit=2`);
      expect(page1.body.count).toBe(3);
      expect(ids(page1)).toEqual([c3.id, c2.id]);
      expect(page1.body.previous).toBeNull();
      // Links are relative: a forged Host header can never reach them.
      expect(page1.body.next).toMatch(/^\/api\/v1\/admin\/keys\?/);
      const next = new URL(page1.body.next, 'http://relative.invalid');
      expect(next.pathname).toBe('/api/v1/admin/keys');
      expect(Object.fromEntries(next.searchParams)).toEqual({ user_id: carol.id, limit: '2', offset: '2' });
      const page2 = await admin.get(`${next.pathname.replace('/api/v1', '')}${next.search}`);
      expect(ids(page2)).toEqual([c1.id]);
      expect(page2.body.next).toBeNull();
      expect(new URL(page2.body.previous, 'http://relative.invalid').searchParams.get('offset')).toBe('0');
      const exact = await admin.get(`/admin/keys?user_id=${carol.id}&limit=3`);
      expect(exact.body).toMatchObject({ count: 3, next: null, previous: null });

      expectProblem(await admin.get('/admin/keys?user_id=nope'), 400, 'VALIDATION_FAILED', 'query.user_id');
      expectProblem(await admin.get('/admin/keys?expired=maybe'), 400, 'VALIDATION_FAILED', 'query.expired');
      expectProblem(await admin.get('/admin/keys?limit=201'), 400, 'VALIDATION_FAILED', 'query.limit');
    });

    it("deactivates, activates and deletes another user's key, which stops and starts at once", async () => {
      const erin = await s.createUser(fresh('erin'));
      const key = await s.createKey(erin, { name: 'erin-ci' });
      expectStatus(await whoami(s, xApiKey(key.key)), 200);

      const off = await admin.post(`/admin/keys/${key.id}/deactivate`);
      expectStatus(off, 200);
      expect(off.body).toMatchObject({ id: key.id, name: 'erin-ci', user_id: erin.id, is_active: false });
      expect(off.body).not.toHaveProperty('key');
      expect(await storedKey(s, key.id)).toMatchObject({ is_active: 0 });
      expectProblem(await whoami(s, xApiKey(key.key)), 401, 'AUTHENTICATION_FAILED');

      const on = await admin.post(`/admin/keys/${key.id}/activate`);
      expectStatus(on, 200);
      expect(on.body).toMatchObject({ id: key.id, is_active: true });
      expect(await storedKey(s, key.id)).toMatchObject({ is_active: 1 });
      expectStatus(await whoami(s, xApiKey(key.key)), 200);

      const gone = await admin.del(`/admin/keys/${key.id}`);
      expectStatus(gone, 204);
      expect(gone.body).toBe('');
      expect(await storedKey(s, key.id)).toBeUndefined();
      expectProblem(await whoami(s, xApiKey(key.key)), 401, 'AUTHENTICATION_FAILED');

      expectProblem(await admin.del(`/admin/keys/${key.id}`), 404, 'KEY_NOT_FOUND');
      expectProblem(await admin.post(`/admin/keys/${UNKNOWN_ID}/activate`), 404, 'KEY_NOT_FOUND');
      expectProblem(await admin.post(`/admin/keys/${UNKNOWN_ID}/deactivate`), 404, 'KEY_NOT_FOUND');
      expectProblem(
        await admin.post('/admin/keys/not-a-uuid/deactivate'),
        400,
        'VALIDATION_FAILED',
        'path.key_id',
      );
    });
  });

  describe('users', () => {
    it('creates a user who can log in, and refuses bad input without creating anything', async () => {
      const username = fresh('deploy-bot');
      const r = await admin.post('/admin/users', {
        username,
        password: NEW_PASSWORD,
        can_create_tokens: false,
      });
      expectStatus(r, 201);
      expect(r.body).toEqual({
        id: expect.any(String),
        username,
        is_superuser: false,
        is_active: true,
        can_create_tokens: false,
        can_verify_keys: false,
        created_at: expect.any(String),
      });
      expect(r.headers.get('location')).toBe(`/api/v1/admin/users/${r.body.id}`);
      const stored = await storedUser(s, r.body.id);
      expect(stored).toMatchObject({ username, is_superuser: 0, can_create_tokens: 0, is_active: 1 });
      expect(stored?.password_hash).toMatch(/^\$argon2id\$/);
      await login(s, username, NEW_PASSWORD);

      const superuser = await admin.post('/admin/users', {
        username: fresh('ops'),
        password: NEW_PASSWORD,
        is_superuser: true,
      });
      expectStatus(superuser, 201);
      expect(superuser.body).toMatchObject({ is_superuser: true, can_create_tokens: true });

      const verifier = await admin.post('/admin/users', {
        username: fresh('gateway'),
        password: NEW_PASSWORD,
        can_verify_keys: true,
      });
      expectStatus(verifier, 201);
      expect(verifier.body).toMatchObject({ is_superuser: false, can_verify_keys: true });
      expect(await storedUser(s, verifier.body.id)).toMatchObject({ can_verify_keys: 1 });

      const count = (await s.app.services.store.counts()).users;
      expectProblem(
        await admin.post('/admin/users', { username, password: NEW_PASSWORD }),
        409,
        'USERNAME_TAKEN',
        'body.username',
      );
      expectProblem(
        await admin.post('/admin/users', { username: 'a b', password: NEW_PASSWORD }),
        400,
        'VALIDATION_FAILED',
        'body.username',
      );
      expectProblem(
        await admin.post('/admin/users', { username: 'x'.repeat(151), password: NEW_PASSWORD }),
        400,
        'VALIDATION_FAILED',
        'body.username',
      );
      const weak = await admin.post('/admin/users', { username: fresh('weak'), password: 'password123' });
      expectProblem(weak, 400, 'VALIDATION_FAILED', 'body.password');
      expect(weak.body.errors).toEqual([{ field: 'body.password', message: 'is too common' }]);
      expectProblem(
        await admin.post('/admin/users', { username: fresh('short'), password: 'short' }),
        400,
        'VALIDATION_FAILED',
        'body.password',
      );
      expectProblem(
        await admin.post('/admin/users', { username: fresh('nopass') }),
        400,
        'VALIDATION_FAILED',
        'body.password',
      );
      expectProblem(
        await admin.post('/admin/users', {
          username: fresh('extra'),
          password: NEW_PASSWORD,
          is_admin: true,
        }),
        400,
        'VALIDATION_FAILED',
        'body.is_admin',
      );
      expect((await s.app.services.store.counts()).users).toBe(count);
    });

    it('reads one user, and answers 404 for an unknown id', async () => {
      const frank = await s.createUser(fresh('frank'));
      const r = await admin.get(`/admin/users/${frank.id}`);
      expectStatus(r, 200);
      expect(r.body).toEqual({
        id: frank.id,
        username: frank.username,
        is_superuser: false,
        is_active: true,
        can_create_tokens: true,
        can_verify_keys: false,
        created_at: frank.created_at,
      });
      expect(r.body).not.toHaveProperty('password_hash');
      expectProblem(await admin.get(`/admin/users/${UNKNOWN_ID}`), 404, 'USER_NOT_FOUND');
      expectProblem(await admin.get('/admin/users/42'), 400, 'VALIDATION_FAILED', 'path.user_id');
      for (const call of [
        () => admin.patch(`/admin/users/${UNKNOWN_ID}`, { is_active: false }),
        () => admin.del(`/admin/users/${UNKNOWN_ID}`),
        () => admin.post(`/admin/users/${UNKNOWN_ID}/password`, { password: NEW_PASSWORD }),
      ]) {
        expectProblem(await call(), 404, 'USER_NOT_FOUND');
      }
    });

    it('lists users oldest first, with filters and pages', async () => {
      const g1 = await s.createUser(fresh('gina'));
      await tick();
      const g2 = await s.createUser(fresh('gina'), { superuser: true });
      await s.app.services.users.setActive(CLI_ACTOR, g1.id, false);
      const all = await admin.get('/admin/users?limit=200');
      expectStatus(all, 200);
      const names = all.body.results.map((u: { username: string }) => u.username);
      expect(names[0]).toBe('root');
      expect(names.indexOf(g1.username)).toBeLessThan(names.indexOf(g2.username));
      expect(all.body.count).toBe((await s.app.services.store.counts()).users);
      for (const u of all.body.results) expect(u).not.toHaveProperty('password_hash');

      const inactive = await admin.get('/admin/users?is_active=false&limit=200');
      expect(inactive.body.results.map((u: { id: string }) => u.id)).toContain(g1.id);
      expect(inactive.body.results.every((u: { is_active: boolean }) => !u.is_active)).toBe(true);
      const supers = await admin.get('/admin/users?is_superuser=true&limit=200');
      expect(supers.body.results.map((u: { id: string }) => u.id)).toEqual(
        expect.arrayContaining([root.id, g2.id]),
      );
      expect(supers.body.results.every((u: { is_superuser: boolean }) => u.is_superuser)).toBe(true);
      const plain = await admin.get('/admin/users?is_superuser=false&limit=200');
      expect(plain.body.results.map((u: { id: string }) => u.id)).not.toContain(root.id);

      const page = await admin.get('/admin/users?limit=1&offset=1');
      expect(page.body.results).toHaveLength(1);
      expect(page.body.results[0].username).toBe(names[1]);
      expect(new URL(page.body.previous, 'http://relative.invalid').searchParams.get('offset')).toBe('0');
      expect(new URL(page.body.next, 'http://relative.invalid').searchParams.get('offset')).toBe('2');
      expectProblem(await admin.get('/admin/users?offset=-1'), 400, 'VALIDATION_FAILED', 'query.offset');
    });

    it('changes flags: can_create_tokens and is_superuser take effect on the next request', async () => {
      const hank = await s.createUser(fresh('hank'));
      const hankKey = await s.createKey(hank);
      const r = await admin.patch(`/admin/users/${hank.id}`, { can_create_tokens: false });
      expectStatus(r, 200);
      expect(r.body).toMatchObject({
        id: hank.id,
        can_create_tokens: false,
        is_superuser: false,
        is_active: true,
      });
      expect(await storedUser(s, hank.id)).toMatchObject({ can_create_tokens: 0 });
      expectProblem(
        await api(s, xApiKey(hankKey.key)).post('/keys', { name: 'nope' }),
        403,
        'KEY_CREATION_NOT_ALLOWED',
      );

      expectProblem(await api(s, xApiKey(hankKey.key)).get('/admin/users'), 403, 'SUPERUSER_REQUIRED');
      const promoted = await admin.patch(`/admin/users/${hank.id}`, {
        is_superuser: true,
        can_create_tokens: true,
      });
      expectStatus(promoted, 200);
      expect(promoted.body).toMatchObject({ is_superuser: true, can_create_tokens: true });
      expect(await storedUser(s, hank.id)).toMatchObject({ is_superuser: 1, can_create_tokens: 1 });
      expectStatus(await api(s, xApiKey(hankKey.key)).get('/admin/users'), 200);

      const unchanged = await admin.patch(`/admin/users/${hank.id}`, { is_superuser: true });
      expectStatus(unchanged, 200);
      expect(unchanged.body).toMatchObject({ is_superuser: true });

      expectProblem(await admin.patch(`/admin/users/${hank.id}`, {}), 400, 'VALIDATION_FAILED', 'body');
      expectProblem(
        await admin.patch(`/admin/users/${hank.id}`, { is_superuser: 'yes' }),
        400,
        'VALIDATION_FAILED',
        'body.is_superuser',
      );
      expectProblem(
        await admin.patch(`/admin/users/${hank.id}`, { username: 'renamed' }),
        400,
        'VALIDATION_FAILED',
        'body.username',
      );
      expect(await storedUser(s, hank.id)).toMatchObject({ username: hank.username, is_superuser: 1 });
    });

    it("deactivation ends the user's sessions and stops their keys and Basic at once", async () => {
      const ivy = await s.createUser(fresh('ivy'));
      const key = await s.createKey(ivy);
      const { jwt } = await login(s, ivy.username);
      expectStatus(await whoami(s, xApiKey(key.key)), 200);
      expectStatus(await whoami(s, jwt), 200);

      const off = await admin.patch(`/admin/users/${ivy.id}`, { is_active: false });
      expectStatus(off, 200);
      expect(off.body).toMatchObject({ is_active: false });
      expect(await storedUser(s, ivy.id)).toMatchObject({ is_active: 0 });
      expectProblem(await whoami(s, xApiKey(key.key)), 401, 'AUTHENTICATION_FAILED');
      expectProblem(await whoami(s, jwt), 401, 'AUTHENTICATION_FAILED');
      expectProblem(await whoami(s, { authorization: basic(ivy.username) }), 401, 'AUTHENTICATION_FAILED');
      const sessions = await s.app.storage.db
        .selectFrom('sessions')
        .selectAll()
        .where('user_id', '=', ivy.id)
        .execute();
      expect(sessions).toEqual([]);

      const on = await admin.patch(`/admin/users/${ivy.id}`, { is_active: true });
      expect(on.body).toMatchObject({ is_active: true });
      expectStatus(await whoami(s, xApiKey(key.key)), 200);
      // Sessions do not come back.
      expectProblem(await whoami(s, jwt), 401, 'AUTHENTICATION_FAILED');
    });

    it('resets a password: the old one and every session stop working, weak ones are refused', async () => {
      const jack = await s.createUser(fresh('jack'));
      const first = await login(s, jack.username);
      const second = await login(s, jack.username);
      expectStatus(await whoami(s, first.jwt), 200);

      const weak = await admin.post(`/admin/users/${jack.id}/password`, { password: 'password123' });
      expectProblem(weak, 400, 'VALIDATION_FAILED', 'body.password');
      expectProblem(
        await admin.post(`/admin/users/${jack.id}/password`, { password: jack.username }),
        400,
        'VALIDATION_FAILED',
        'body.password',
      );
      expectProblem(
        await admin.post(`/admin/users/${jack.id}/password`, {}),
        400,
        'VALIDATION_FAILED',
        'body.password',
      );
      // Nothing changed by the refusals.
      expectStatus(await whoami(s, first.jwt), 200);
      await login(s, jack.username);

      const r = await admin.post(`/admin/users/${jack.id}/password`, { password: NEW_PASSWORD });
      expectStatus(r, 204);
      expect(r.body).toBe('');
      expectProblem(await whoami(s, first.jwt), 401, 'AUTHENTICATION_FAILED');
      expectProblem(await whoami(s, second.jwt), 401, 'AUTHENTICATION_FAILED');
      const old = await s.call('/api/v1/auth/login', {
        method: 'POST',
        json: { username: jack.username, password: PASSWORD },
      });
      expectProblem(old, 401, 'AUTHENTICATION_FAILED');
      await login(s, jack.username, NEW_PASSWORD);
    });

    it('deletes a user with their keys and sessions', async () => {
      const kate = await s.createUser(fresh('kate'));
      const key = await s.createKey(kate);
      const { jwt } = await login(s, kate.username);
      const r = await admin.del(`/admin/users/${kate.id}`);
      expectStatus(r, 204);
      expect(await storedUser(s, kate.id)).toBeUndefined();
      expect(await storedKey(s, key.id)).toBeUndefined();
      const sessions = await s.app.storage.db
        .selectFrom('sessions')
        .selectAll()
        .where('user_id', '=', kate.id)
        .execute();
      expect(sessions).toEqual([]);
      expectProblem(await whoami(s, xApiKey(key.key)), 401, 'AUTHENTICATION_FAILED');
      expectProblem(await whoami(s, jwt), 401, 'AUTHENTICATION_FAILED');
      expectProblem(await admin.get(`/admin/users/${kate.id}`), 404, 'USER_NOT_FOUND');
      expectProblem(await admin.del(`/admin/users/${kate.id}`), 404, 'USER_NOT_FOUND');
    });
  });

  describe('audit log', () => {
    it('pages through the events newest first', async () => {
      const r = await admin.get('/admin/audit-events?limit=2');
      expectStatus(r, 200);
      expect(r.body.count).toBeGreaterThan(2);
      expect(r.body.results).toHaveLength(2);
      const [a, b] = r.body.results;
      expect(a.at >= b.at).toBe(true);
      expect(new URL(r.body.next, 'http://relative.invalid').searchParams.get('offset')).toBe('2');
      const p2 = await admin.get('/admin/audit-events?limit=2&offset=2');
      expect(p2.body.results[0].id).not.toBe(a.id);
      expect(p2.body.results[0].at <= b.at).toBe(true);
      expectProblem(
        await admin.get('/admin/audit-events?action=key.stolen'),
        400,
        'VALIDATION_FAILED',
        'query.action',
      );
      expectProblem(
        await admin.get('/admin/audit-events?since=yesterday'),
        400,
        'VALIDATION_FAILED',
        'query.since',
      );
    });
  });
});

describeEachDialect('admin API: the last active superuser', (dialect) => {
  let s: TestServer;
  afterEach(() => s.close());

  it('cannot be demoted, deactivated or deleted; with a second superuser each works', async () => {
    s = await startTestServer(dialect);
    const only = await s.createUser('only', { superuser: true });
    const admin = api(s, xApiKey((await s.createKey(only)).key));
    // A deactivated superuser does not count.
    const dormant = await s.createUser('dormant', { superuser: true });
    await s.app.services.users.setActive(CLI_ACTOR, dormant.id, false);

    for (const [what, r] of [
      ['demote', await admin.patch(`/admin/users/${only.id}`, { is_superuser: false })],
      ['deactivate', await admin.patch(`/admin/users/${only.id}`, { is_active: false })],
      [
        'both',
        await admin.patch(`/admin/users/${only.id}`, {
          is_active: false,
          is_superuser: false,
          can_create_tokens: false,
        }),
      ],
      ['delete', await admin.del(`/admin/users/${only.id}`)],
    ] as const) {
      expectProblem(r, 409, 'LAST_SUPERUSER');
      expect(r.body.detail, what).toMatch(/last active superuser/);
    }
    expect(await storedUser(s, only.id)).toMatchObject({
      is_superuser: 1,
      is_active: 1,
      can_create_tokens: 1,
    });
    // Changes that keep them an active superuser are fine.
    expectStatus(
      await admin.patch(`/admin/users/${only.id}`, { can_create_tokens: false, is_active: true }),
      200,
    );

    // Reactivating the dormant superuser makes a second one: now each change works.
    expectStatus(await admin.patch(`/admin/users/${dormant.id}`, { is_active: true }), 200);
    const demoted = await admin.patch(`/admin/users/${only.id}`, { is_superuser: false });
    expectStatus(demoted, 200);
    expect(demoted.body).toMatchObject({ is_superuser: false });
    expect(await storedUser(s, only.id)).toMatchObject({ is_superuser: 0 });

    const second = api(s, xApiKey((await s.createKey(dormant)).key));
    expectProblem(await second.del(`/admin/users/${dormant.id}`), 409, 'LAST_SUPERUSER');
    expectStatus(await second.patch(`/admin/users/${only.id}`, { is_superuser: true }), 200);
    expectStatus(await second.patch(`/admin/users/${only.id}`, { is_active: false }), 200);
    expectProblem(
      await second.patch(`/admin/users/${dormant.id}`, { is_active: false }),
      409,
      'LAST_SUPERUSER',
    );
    expectStatus(await second.patch(`/admin/users/${only.id}`, { is_active: true }), 200);
    expectStatus(await second.del(`/admin/users/${only.id}`), 204);
    expect(await storedUser(s, only.id)).toBeUndefined();
    expectProblem(
      await second.patch(`/admin/users/${dormant.id}`, { is_superuser: false }),
      409,
      'LAST_SUPERUSER',
    );
  });

  it('holds when two superusers demote each other at the same moment', async () => {
    s = await startTestServer(dialect);
    for (let round = 0; round < 5; round++) {
      const a = await s.createUser(`a${round}`, { superuser: true });
      const b = await s.createUser(`b${round}`, { superuser: true });
      // Only these two are active superusers in this round.
      await s.app.storage.db
        .updateTable('users')
        .set({ is_superuser: 0 })
        .where('id', 'not in', [a.id, b.id])
        .execute();
      const ka = (await s.createKey(a)).key;
      const kb = (await s.createKey(b)).key;
      const replies = await Promise.all([
        api(s, xApiKey(ka)).patch(`/admin/users/${b.id}`, { is_superuser: false }),
        api(s, xApiKey(kb)).patch(`/admin/users/${a.id}`, { is_superuser: false }),
        api(s, xApiKey(ka)).del(`/admin/users/${b.id}`),
        api(s, xApiKey(kb)).del(`/admin/users/${a.id}`),
      ]);
      // 401/403/404 when the other request already removed the caller or the target.
      for (const r of replies)
        expect([200, 204, 401, 403, 404, 409], JSON.stringify(r.body)).toContain(r.status);
      expect(replies.filter((r) => r.status === 200 || r.status === 204).length).toBeGreaterThanOrEqual(1);
      const left = await s.app.storage.db
        .selectFrom('users')
        .select('id')
        .where('is_superuser', '=', 1)
        .where('is_active', '=', 1)
        .execute();
      expect(left, `round ${round}: ${replies.map((r) => r.status).join(',')}`).toHaveLength(1);
    }
  });
});

describeEachDialect('admin API: lockouts', (dialect) => {
  let s: TestServer;
  beforeAll(async () => {
    // The test client is a trusted proxy, so X-Forwarded-For can play another address.
    s = await startTestServer(dialect, {
      LATCHKEY_TRUSTED_PROXIES: '127.0.0.1',
      LATCHKEY_LOCKOUT_ATTEMPTS: '3',
    });
  });
  afterAll(() => s.close());

  it('lists a locked-out address and clears it, after which it can authenticate again', async () => {
    const root = await s.createUser('root', { superuser: true });
    const admin = api(s, xApiKey((await s.createKey(root)).key));
    const user = await s.createUser('mallory-victim');
    const good = await s.createKey(user);
    const from = (address: string, headers: Headers) => ({ ...headers, 'x-forwarded-for': address });

    expect((await admin.get('/admin/lockouts')).body).toEqual({ results: [] });
    for (let i = 0; i < 3; i++) {
      expectProblem(
        await whoami(s, from(LOCKED_ADDRESS, xApiKey(`wrong-key-${'x'.repeat(32)}`))),
        401,
        'AUTHENTICATION_FAILED',
      );
    }
    const locked = await whoami(s, from(LOCKED_ADDRESS, xApiKey(good.key)));
    expect(locked.status).toBe(429);

    const list = await admin.get('/admin/lockouts');
    expectStatus(list, 200);
    expect(list.body.results).toHaveLength(1);
    expect(list.body.results[0].address).toBe(LOCKED_ADDRESS);
    const until = Date.parse(list.body.results[0].locked_until);
    expect(until).toBeGreaterThan(Date.now());
    expect(until).toBeLessThanOrEqual(Date.now() + 300_000 + 2000);

    expectProblem(
      await admin.del('/admin/lockouts/not-an-address'),
      400,
      'VALIDATION_FAILED',
      'path.address',
    );
    expectProblem(await admin.del('/admin/lockouts/198.51.100.1'), 404, 'LOCKOUT_NOT_FOUND');
    expect((await admin.get('/admin/lockouts')).body.results).toHaveLength(1);

    // The IPv4-mapped form names the same address.
    const cleared = await admin.del(`/admin/lockouts/::ffff:${LOCKED_ADDRESS}`);
    expectStatus(cleared, 204);
    expect((await admin.get('/admin/lockouts')).body).toEqual({ results: [] });
    expectStatus(await whoami(s, from(LOCKED_ADDRESS, xApiKey(good.key))), 200);
    expectProblem(await admin.del(`/admin/lockouts/${LOCKED_ADDRESS}`), 404, 'LOCKOUT_NOT_FOUND');
  });

  it('clears an IPv6 lockout given in any case', async () => {
    const root = await s.app.services.store.users.findByUsername('root');
    const admin = api(s, xApiKey((await s.createKey(root as UserRecord)).key));
    for (let i = 0; i < 3; i++) {
      await whoami(s, { 'x-forwarded-for': '2001:db8::7', 'x-api-key': `wrong-key-${'y'.repeat(32)}` });
    }
    expect(
      (await admin.get('/admin/lockouts')).body.results.map((l: { address: string }) => l.address),
    ).toEqual(['2001:db8::7']);
    expectStatus(await admin.del('/admin/lockouts/2001:DB8::7'), 204);
    expect((await admin.get('/admin/lockouts')).body).toEqual({ results: [] });
  });
});
