import { CLI_ACTOR, generateKey } from '@latchkey/core';
import { afterEach, expect, it } from 'vitest';
import { expectProblem, expectStatus } from './support/expect.js';
import { basic, describeEachDialect, startTestServer, type TestServer } from './support/test-server.js';

// proxbox-api's bootstrap: the first key is registered without authentication, once.

const STATUS = '/api/v1/auth/bootstrap-status';
const REGISTER = '/api/v1/auth/register-key';
const FIRST_KEY = '5f0c2a7e9b1d4c3a8e6f7b2d1c0a9e8f5f0c2a7e9b1d4c3a8e6f7b2d1c0a9e8f';
const OTHER_KEY = 'another-bootstrap-key-of-enough-length-0123456789';

describeEachDialect('bootstrap', (dialect) => {
  let s: TestServer;
  afterEach(() => s.close());

  const status = () => s.call(STATUS);
  const register = (json: unknown) => s.call(REGISTER, { method: 'POST', json });
  const counts = async () => ({
    users: (await s.app.services.store.counts()).users,
    keys: Number(
      (
        await s.app.storage.db
          .selectFrom('api_keys')
          .select((eb) => eb.fn.countAll<string | number>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    ),
  });

  it('registers the first key for a new superuser admin without a password, then answers 409', async () => {
    s = await startTestServer(dialect);
    const before = await status();
    expectStatus(before, 200);
    expect(before.body).toEqual({ needs_bootstrap: true, has_db_keys: false });

    const r = await register({ api_key: FIRST_KEY, label: 'netbox-plugin' });
    expectStatus(r, 201);
    expect(r.body).toEqual({
      detail: 'API key registered.',
      key_id: expect.any(String),
      user_id: expect.any(String),
    });

    const user = await s.app.storage.db
      .selectFrom('users')
      .selectAll()
      .where('id', '=', r.body.user_id)
      .executeTakeFirst();
    expect(user).toMatchObject({ username: 'admin', is_superuser: 1, is_active: 1, password_hash: null });
    const key = await s.app.storage.db
      .selectFrom('api_keys')
      .selectAll()
      .where('id', '=', r.body.key_id)
      .executeTakeFirst();
    expect(key).toMatchObject({
      user_id: r.body.user_id,
      name: 'netbox-plugin',
      created_via: 'api',
      is_active: 1,
    });
    // Stored as a digest, like every key.
    expect(JSON.stringify(key)).not.toContain(FIRST_KEY);

    const after = await status();
    expect(after.body).toEqual({ needs_bootstrap: false, has_db_keys: true });

    const again = await register({ api_key: OTHER_KEY, label: 'second' });
    expectProblem(again, 409, 'BOOTSTRAP_DONE');
    expectProblem(await register({ api_key: FIRST_KEY }), 409, 'BOOTSTRAP_DONE');
    expect(await counts()).toEqual({ users: 1, keys: 1 });
  });

  it('the registered key authenticates (X-API-Key) as a superuser who can use the admin API', async () => {
    s = await startTestServer(dialect);
    const r = await register({ api_key: FIRST_KEY });
    expectStatus(r, 201);
    const me = await s.call('/api/v1/auth/whoami', { headers: { 'x-api-key': FIRST_KEY } });
    expectStatus(me, 200);
    expect(me.body.user).toMatchObject({ id: r.body.user_id, username: 'admin', is_superuser: true });
    expect(me.body.auth).toMatchObject({
      method: 'HeaderTokenAuth',
      token_id: r.body.key_id,
      write_enabled: true,
    });
    // Without a label the key still gets a name.
    const keys = await s.call('/api/v1/keys', { headers: { 'x-api-key': FIRST_KEY } });
    expect(keys.body.results).toEqual([
      expect.objectContaining({ id: r.body.key_id, name: 'bootstrap-key' }),
    ]);
    const users = await s.call('/api/v1/admin/users', { headers: { 'x-api-key': FIRST_KEY } });
    expectStatus(users, 200);
    expect(users.body.count).toBe(1);

    // The admin has no password: no password logs in as them, by login or Basic.
    for (const password of ['', 'a-long-test-password-42']) {
      const login = await s.call('/api/v1/auth/login', {
        method: 'POST',
        json: { username: 'admin', password },
      });
      expect(login.status).toBe(password ? 401 : 400);
    }
    expectProblem(
      await s.call('/api/v1/auth/whoami', { headers: { authorization: basic('admin', 'x') } }),
      401,
      'AUTHENTICATION_FAILED',
    );
  });

  it('refuses a short or malformed key with 400 naming body.api_key, and registers nothing', async () => {
    s = await startTestServer(dialect);
    const short = await register({ api_key: 'x'.repeat(31), label: 'short' });
    expectProblem(short, 400, 'VALIDATION_FAILED', 'body.api_key');
    expectProblem(
      await register({ api_key: `${'x'.repeat(40)} spaces` }),
      400,
      'VALIDATION_FAILED',
      'body.api_key',
    );
    expectProblem(await register({ label: 'no key' }), 400, 'VALIDATION_FAILED', 'body.api_key');
    expectProblem(await register({ api_key: 'x'.repeat(257) }), 400, 'VALIDATION_FAILED', 'body.api_key');
    expectProblem(
      await register({ api_key: FIRST_KEY, label: 'x'.repeat(101) }),
      400,
      'VALIDATION_FAILED',
      'body.label',
    );
    expectProblem(
      await register({ api_key: FIRST_KEY, admin: true }),
      400,
      'VALIDATION_FAILED',
      'body.admin',
    );
    // A key with the server's prefix must be a well-formed key of that prefix (checksum included).
    const generated = generateKey('lk_');
    const broken = `${generated.slice(0, -1)}${generated.endsWith('A') ? 'B' : 'A'}`;
    const bad = await register({ api_key: broken });
    expectProblem(bad, 400, 'VALIDATION_FAILED', 'body.api_key');
    expect(bad.body.detail).toMatch(/well-formed lk_ key/);
    expect(await counts()).toEqual({ users: 0, keys: 0 });
    expect((await status()).body).toEqual({ needs_bootstrap: true, has_db_keys: false });

    // A well-formed key of the prefix is taken as it is.
    expectStatus(await register({ api_key: generated }), 201);
    expectStatus(await s.call('/api/v1/auth/whoami', { headers: { 'x-api-key': generated } }), 200);
  });

  it('of 20 concurrent calls on an empty database exactly one wins', async () => {
    s = await startTestServer(dialect);
    const keys = Array.from(
      { length: 20 },
      (_, i) => `concurrent-bootstrap-key-${String(i).padStart(2, '0')}-${'z'.repeat(16)}`,
    );
    const replies = await Promise.all(keys.map((api_key, i) => register({ api_key, label: `racer ${i}` })));
    const won = replies.filter((r) => r.status === 201);
    const lost = replies.filter((r) => r.status === 409);
    expect(won, replies.map((r) => r.status).join(',')).toHaveLength(1);
    expect(lost).toHaveLength(19);
    for (const r of lost) expect(r.body.code).toBe('BOOTSTRAP_DONE');
    expect(await counts()).toEqual({ users: 1, keys: 1 });
    const winner = keys[replies.findIndex((r) => r.status === 201)] as string;
    const me = await s.call('/api/v1/auth/whoami', { headers: { 'x-api-key': winner } });
    expect(me.body.user).toMatchObject({ username: 'admin', is_superuser: true });
  });

  it('is over once any user exists, for example one made by createsuperuser or from the environment', async () => {
    s = await startTestServer(dialect);
    // What `latchkey createsuperuser` does.
    await s.app.services.users.create(CLI_ACTOR, {
      username: 'root',
      password: 'a-long-root-password-1',
      isSuperuser: true,
    });
    expect((await status()).body).toEqual({ needs_bootstrap: false, has_db_keys: false });
    expectProblem(await register({ api_key: FIRST_KEY }), 409, 'BOOTSTRAP_DONE');
    expect(await counts()).toEqual({ users: 1, keys: 0 });
    await s.close();

    s = await startTestServer(dialect, {
      LATCHKEY_ADMIN_USERNAME: 'root',
      LATCHKEY_ADMIN_PASSWORD: 'a-long-admin-password-1',
    });
    expect((await status()).body).toEqual({ needs_bootstrap: false, has_db_keys: false });
    expectProblem(await register({ api_key: FIRST_KEY }), 409, 'BOOTSTRAP_DONE');
  });
});
