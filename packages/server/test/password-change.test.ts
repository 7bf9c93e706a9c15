import { afterAll, beforeAll, expect, it } from 'vitest';
import { expectProblem, expectStatus } from './support/expect.js';
import {
  basic,
  describeEachDialect,
  PASSWORD,
  startTestServer,
  type TestServer,
} from './support/test-server.js';

const WHOAMI = '/api/v1/auth/whoami';
const NEW_PASSWORD = 'a brand new passphrase 2027';

// POST /api/v1/auth/password: a user changes their own password.
describeEachDialect('password change', (dialect) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(dialect, { LATCHKEY_LOCKOUT_ATTEMPTS: '3' });
  });
  afterAll(() => s.close());

  async function login(username: string, password = PASSWORD) {
    const r = await s.call('/api/v1/auth/login', { method: 'POST', json: { username, password } });
    expectStatus(r, 200);
    const cookies = r.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
    return { jwt: `Bearer ${r.body.token}`, cookie: cookies, csrf: r.body.csrf_token as string };
  }

  const change = (headers: Record<string, string>, body: unknown) =>
    s.call('/api/v1/auth/password', { method: 'POST', headers, json: body });

  it('changes the password, ends every other login, keeps the calling session, and forgets cached Basic pairs', async () => {
    const user = await s.createUser('pat');
    const other = await login('pat');
    const viaCookie = await login('pat');
    // Basic verified once: the pair is cached.
    expectStatus(await s.call(WHOAMI, { headers: { authorization: basic('pat') } }), 200);

    const r = await change(
      { cookie: viaCookie.cookie, 'x-csrf-token': viaCookie.csrf },
      { current_password: PASSWORD, new_password: NEW_PASSWORD },
    );
    expectStatus(r, 204);
    expect(r.headers.get('x-auth-method')).toBe('SessionAuth');

    expectProblem(
      await s.call(WHOAMI, { headers: { authorization: other.jwt } }),
      401,
      'AUTHENTICATION_FAILED',
    );
    expectStatus(await s.call(WHOAMI, { headers: { cookie: viaCookie.cookie } }), 200);
    expectProblem(
      await s.call(WHOAMI, { headers: { authorization: basic('pat') } }),
      401,
      'AUTHENTICATION_FAILED',
    );
    expectStatus(await s.call(WHOAMI, { headers: { authorization: basic('pat', NEW_PASSWORD) } }), 200);
    await login('pat', NEW_PASSWORD);

    const events = await s.app.services.audit.list(
      { targetId: user.id, action: 'user.password_changed' },
      {
        limit: 10,
        offset: 0,
      },
    );
    expect(events.rows).toHaveLength(1);
    expect(events.rows[0]?.detail).toMatch(/1 other session\(s\) ended/);
    expect(JSON.stringify(events.rows)).not.toContain(NEW_PASSWORD);
  });

  it('refuses a wrong current password and a weak new one, naming the field, and changes nothing', async () => {
    await s.createUser('quinn');
    const { jwt } = await login('quinn');
    const stored = async () =>
      (
        await s.app.storage.db
          .selectFrom('users')
          .select('password_hash')
          .where('username', '=', 'quinn')
          .executeTakeFirstOrThrow()
      ).password_hash;
    const before = await stored();
    expectProblem(
      await change({ authorization: jwt }, { current_password: 'not it at all', new_password: NEW_PASSWORD }),
      400,
      'CURRENT_PASSWORD_WRONG',
      'body.current_password',
    );
    for (const weak of ['football123', 'short', 'quinn']) {
      expectProblem(
        await change({ authorization: jwt }, { current_password: PASSWORD, new_password: weak }),
        400,
        'VALIDATION_FAILED',
        'body.new_password',
      );
    }
    expectProblem(
      await change({ authorization: jwt }, { current_password: PASSWORD }),
      400,
      'VALIDATION_FAILED',
      'body.new_password',
    );
    expect(await stored()).toBe(before);
    expectStatus(await s.call(WHOAMI, { headers: { authorization: jwt } }), 200);
  });

  it('needs a credential, and the CSRF token with the session cookie', async () => {
    await s.createUser('ravi');
    expectProblem(
      await change({}, { current_password: PASSWORD, new_password: NEW_PASSWORD }),
      401,
      'AUTHENTICATION_REQUIRED',
    );
    const { cookie } = await login('ravi');
    expectProblem(
      await change({ cookie }, { current_password: PASSWORD, new_password: NEW_PASSWORD }),
      403,
      'CSRF_FAILED',
    );
  });

  it('counts wrong current passwords towards the lockout of the address', async () => {
    const locked = await startTestServer(dialect, { LATCHKEY_LOCKOUT_ATTEMPTS: '2' });
    try {
      const user = await locked.createUser('sam');
      const { key } = await locked.createKey(user);
      const attempt = () =>
        locked.call('/api/v1/auth/password', {
          method: 'POST',
          headers: { 'x-api-key': key },
          json: { current_password: 'a wrong guess', new_password: NEW_PASSWORD },
        });
      expectProblem(await attempt(), 400, 'CURRENT_PASSWORD_WRONG');
      expectProblem(await attempt(), 400, 'CURRENT_PASSWORD_WRONG');
      expectProblem(await attempt(), 429, 'LOCKED_OUT');
    } finally {
      await locked.close();
    }
  });
});
