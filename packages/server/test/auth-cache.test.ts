import type { UserRecord } from '@latchkey/core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { expectProblem, expectStatus } from './support/expect.js';
import {
  basic,
  describeEachDialect,
  PASSWORD,
  startTestServer,
  type TestServer,
} from './support/test-server.js';

// The in-process cache of verified credentials: each change that matters is refused on the
// very next request, although the credential was cached by the request before it. Each
// test first proves the credential is in the cache, so it fails if the write path's
// invalidation call is removed.

const NEW_PASSWORD = 'another-long-password-77';

describeEachDialect('auth cache: invalidated at once on this instance', (dialect) => {
  let s: TestServer;
  let admin: UserRecord;
  let n = 0;
  const adminAuth = () => ({ authorization: basic(admin.username) });

  beforeAll(async () => {
    s = await startTestServer(dialect);
    admin = await s.createUser('cache-admin', { superuser: true });
  });
  afterAll(() => s.close());

  const fresh = (what: string) => `cache-${what}-${++n}`;
  const whoami = (headers: Record<string, string>) => s.call('/api/v1/auth/whoami', { headers });
  const call = (method: string, p: string, headers: Record<string, string>, json?: unknown) =>
    s.call(`/api/v1${p}`, { method, headers, json });
  const cache = () => s.app.cache;

  /** A key used once, so that it is cached; proves it is. */
  async function cachedKey(user: UserRecord, input: { expires_at?: string } = {}) {
    const key = await s.createKey(user, input);
    expectStatus(await whoami({ 'x-api-key': key.key }), 200);
    expect(cache().getKey(cache().entryId('key', key.key))?.key.id).toBe(key.id);
    return key;
  }

  async function loginJwt(username: string, password = PASSWORD) {
    const r = await s.call('/api/v1/auth/login', { method: 'POST', json: { username, password } });
    expectStatus(r, 200);
    const cookie = (r.headers.getSetCookie?.() ?? [])
      .map((c) => c.split(';')[0])
      .filter((c) => c?.startsWith('latchkey_'))
      .join('; ');
    const auth = { authorization: `Bearer ${r.body.token as string}` };
    expectStatus(await whoami(auth), 200);
    expect(cache().sizes().sessions).toBeGreaterThan(0);
    return { auth, cookie, sessionCount: cache().sizes().sessions };
  }

  /** Basic used once, so that it is cached; proves it is. */
  async function cachedBasic(user: UserRecord, password = PASSWORD) {
    const auth = { authorization: basic(user.username, password) };
    expectStatus(await whoami(auth), 200);
    expect(cache().getBasic(cache().basicDigest(user.username, password))?.id).toBe(user.id);
    return auth;
  }

  describe('keys', () => {
    it('a second request with the same key reads no database row', async () => {
      const owner = await s.createUser(fresh('reads'));
      const key = await cachedKey(owner);
      const reads = vi.spyOn(s.app.services.store.keys, 'findByDigest');
      try {
        expectStatus(await whoami({ 'x-api-key': key.key }), 200);
        expectStatus(await whoami({ authorization: `Token ${key.key}` }), 200);
        expect(reads).not.toHaveBeenCalled();
      } finally {
        reads.mockRestore();
      }
    });

    it('a change made with plain SQL through the app (as the CLI does) is seen at once', async () => {
      const owner = await s.createUser(fresh('sql'));
      const key = await cachedKey(owner);
      await s.app.storage.db.updateTable('api_keys').set({ is_active: 0 }).where('id', '=', key.id).execute();
      expectProblem(await whoami({ 'x-api-key': key.key }), 401, 'AUTHENTICATION_FAILED');
    });

    it('writing buffered last-used times keeps the cache', async () => {
      const owner = await s.createUser(fresh('usage'));
      const key = await cachedKey(owner);
      await s.app.flushUsage();
      expect(cache().getKey(cache().entryId('key', key.key))?.key.id).toBe(key.id);
    });

    it('deactivate (own and admin), then activate', async () => {
      const owner = await s.createUser(fresh('deact'));
      const key = await cachedKey(owner);
      expectStatus(
        await call('POST', `/keys/${key.id}/deactivate`, { authorization: basic(owner.username) }),
        200,
      );
      expectProblem(await whoami({ 'x-api-key': key.key }), 401, 'AUTHENTICATION_FAILED');
      expectStatus(
        await call('POST', `/keys/${key.id}/activate`, { authorization: basic(owner.username) }),
        200,
      );
      expectStatus(await whoami({ 'x-api-key': key.key }), 200);
      expect(cache().getKey(cache().entryId('key', key.key))).toBeDefined();
      expectStatus(await call('POST', `/admin/keys/${key.id}/deactivate`, adminAuth()), 200);
      expectProblem(await whoami({ 'x-api-key': key.key }), 401, 'AUTHENTICATION_FAILED');
      expectStatus(await call('POST', `/admin/keys/${key.id}/activate`, adminAuth()), 200);
      expectStatus(await whoami({ 'x-api-key': key.key }), 200);
    });

    it('delete (own)', async () => {
      const owner = await s.createUser(fresh('del'));
      const key = await cachedKey(owner);
      expectStatus(await call('DELETE', `/keys/${key.id}`, { authorization: basic(owner.username) }), 204);
      expectProblem(await whoami({ 'x-api-key': key.key }), 401, 'AUTHENTICATION_FAILED');
    });

    it('delete (admin)', async () => {
      const owner = await s.createUser(fresh('admindel'));
      const key = await cachedKey(owner);
      expectStatus(await call('DELETE', `/admin/keys/${key.id}`, adminAuth()), 204);
      expectProblem(await whoami({ 'x-api-key': key.key }), 401, 'AUTHENTICATION_FAILED');
    });

    it('rotate with grace 0: the old key stops, the new one works', async () => {
      const owner = await s.createUser(fresh('rot'));
      const key = await cachedKey(owner);
      const r = await call(
        'POST',
        `/keys/${key.id}/rotate`,
        { authorization: basic(owner.username) },
        {
          grace_seconds: 0,
        },
      );
      expectStatus(r, 201);
      expectProblem(await whoami({ 'x-api-key': key.key }), 401, 'AUTHENTICATION_FAILED');
      expectStatus(await whoami({ 'x-api-key': r.body.key }), 200);
    });

    it('a narrowing PATCH (write_enabled false) refuses writes at once', async () => {
      const owner = await s.createUser(fresh('narrow'));
      const key = await cachedKey(owner);
      const write = () => call('POST', '/keys', { 'x-api-key': key.key }, { name: 'made by key' });
      expectStatus(await write(), 201);
      const r = await call(
        'PATCH',
        `/keys/${key.id}`,
        { authorization: basic(owner.username) },
        {
          write_enabled: false,
        },
      );
      expectStatus(r, 200);
      expectProblem(await write(), 403, 'KEY_READ_ONLY');
      expectStatus(await whoami({ 'x-api-key': key.key }), 200);
    });

    it('expiry takes effect at once although the key is cached', async () => {
      const owner = await s.createUser(fresh('exp'));
      const expiresAt = new Date(Date.now() + 1500).toISOString();
      const key = await cachedKey(owner, { expires_at: expiresAt });
      const wait = Date.parse(expiresAt) - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait + 5));
      expectProblem(await whoami({ 'x-api-key': key.key }), 401, 'AUTHENTICATION_FAILED');
      expect(cache().getKey(cache().entryId('key', key.key))).toBeDefined();
    });
  });

  describe('users', () => {
    it('deactivation stops their cached key, login and Basic', async () => {
      const user = await s.createUser(fresh('off'));
      const key = await cachedKey(user);
      const { auth: jwt } = await loginJwt(user.username);
      const basicAuth = await cachedBasic(user);
      expectStatus(await call('PATCH', `/admin/users/${user.id}`, adminAuth(), { is_active: false }), 200);
      expectProblem(await whoami({ 'x-api-key': key.key }), 401, 'AUTHENTICATION_FAILED');
      expectProblem(await whoami(jwt), 401, 'AUTHENTICATION_FAILED');
      expectProblem(await whoami(basicAuth), 401, 'AUTHENTICATION_FAILED');
    });

    it('deletion stops their cached key, login and Basic', async () => {
      const user = await s.createUser(fresh('gone'));
      const key = await cachedKey(user);
      const { auth: jwt } = await loginJwt(user.username);
      const basicAuth = await cachedBasic(user);
      expectStatus(await call('DELETE', `/admin/users/${user.id}`, adminAuth()), 204);
      expectProblem(await whoami({ 'x-api-key': key.key }), 401, 'AUTHENTICATION_FAILED');
      expectProblem(await whoami(jwt), 401, 'AUTHENTICATION_FAILED');
      expectProblem(await whoami(basicAuth), 401, 'AUTHENTICATION_FAILED');
    });

    it('a password change stops the old Basic pair and the logins at once; the new pair works', async () => {
      const user = await s.createUser(fresh('pw'));
      const { auth: jwt } = await loginJwt(user.username);
      const oldBasic = await cachedBasic(user);
      // The cached pair answers without reading the user (and so without a password hash).
      const reads = vi.spyOn(s.app.services.store.users, 'findByUsername');
      try {
        expectStatus(await whoami(oldBasic), 200);
        expect(reads).not.toHaveBeenCalled();
      } finally {
        reads.mockRestore();
      }
      expectStatus(
        await call('POST', `/admin/users/${user.id}/password`, adminAuth(), { password: NEW_PASSWORD }),
        204,
      );
      expectProblem(await whoami(oldBasic), 401, 'AUTHENTICATION_FAILED');
      expectProblem(await whoami(jwt), 401, 'AUTHENTICATION_FAILED');
      expectStatus(await whoami({ authorization: basic(user.username, NEW_PASSWORD) }), 200);
    });

    it('concurrent Basic requests with a pair not cached yet share one password check', async () => {
      const user = await s.createUser(fresh('herd'));
      const reads = vi.spyOn(s.app.services.store.users, 'findByUsername');
      try {
        const replies = await Promise.all(
          Array.from({ length: 10 }, () => whoami({ authorization: basic(user.username) })),
        );
        for (const r of replies) expectStatus(r, 200);
        expect(reads).toHaveBeenCalledTimes(1);
      } finally {
        reads.mockRestore();
      }
    });

    it('flag changes: demotion and can_create_tokens off take effect on the next request', async () => {
      const user = await s.createUser(fresh('flags'), { superuser: true });
      const key = await cachedKey(user);
      const asKey = { 'x-api-key': key.key };
      const basicAuth = await cachedBasic(user);
      expectStatus(await call('GET', '/admin/users', asKey), 200);
      expectStatus(await call('GET', '/admin/users', basicAuth), 200);
      expectStatus(await call('PATCH', `/admin/users/${user.id}`, adminAuth(), { is_superuser: false }), 200);
      expectProblem(await call('GET', '/admin/users', asKey), 403, 'SUPERUSER_REQUIRED');
      expectProblem(await call('GET', '/admin/users', basicAuth), 403, 'SUPERUSER_REQUIRED');

      expectStatus(await call('POST', '/keys', asKey, { name: 'allowed' }), 201);
      expectStatus(
        await call('PATCH', `/admin/users/${user.id}`, adminAuth(), { can_create_tokens: false }),
        200,
      );
      expectProblem(await call('POST', '/keys', asKey, { name: 'refused' }), 403, 'KEY_CREATION_NOT_ALLOWED');
    });
  });

  describe('sessions', () => {
    it('logout ends the cached JWT and cookie at once', async () => {
      const user = await s.createUser(fresh('out'));
      const { auth: jwt, cookie } = await loginJwt(user.username);
      const byCookie = { cookie };
      expectStatus(await whoami(byCookie), 200);
      expectStatus(await call('POST', '/auth/logout', jwt), 204);
      expectProblem(await whoami(jwt), 401, 'AUTHENTICATION_FAILED');
      expectProblem(await whoami(byCookie), 401, 'AUTHENTICATION_FAILED');
    });
  });
});

describe('auth cache: bounds', () => {
  it('keeps at most LATCHKEY_AUTH_CACHE_SIZE entries, and none with size 0', async () => {
    const small = await startTestServer('sqlite', { LATCHKEY_AUTH_CACHE_SIZE: '3' });
    const off = await startTestServer('sqlite', { LATCHKEY_AUTH_CACHE_SIZE: '0' });
    try {
      for (const server of [small, off]) {
        const user = await server.createUser('bounded');
        for (let i = 0; i < 5; i++) {
          const key = await server.createKey(user);
          expectStatus(await server.call('/api/v1/auth/whoami', { headers: { 'x-api-key': key.key } }), 200);
        }
      }
      expect(small.app.cache.sizes().keys).toBe(3);
      expect(off.app.cache.sizes().keys).toBe(0);
    } finally {
      await small.close();
      await off.close();
    }
  });
});
