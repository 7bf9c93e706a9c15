import type { AuditAction } from '@latchkey/core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { AuditEventRow } from '../src/audit/audit.table.js';
import { expectProblem, expectStatus } from './support/expect.js';
import { describeEachDialect, PASSWORD, startTestServer, type TestServer } from './support/test-server.js';

// The audit log: a row for each action, with actor, client address, target and outcome,
// readable through the admin API with filters, and never a secret.

type Headers = Record<string, string>;

const BOOTSTRAP_KEY = 'audit-bootstrap-key-0123456789abcdefghijklmnopqrstuvwxyz';
const NEW_PASSWORD = 'an entirely new passphrase 7';
const PASSWORD_AS_USERNAME = 'my-secret-password-typed-as-username';
const WRONG_PASSWORD = 'a-wrong-but-secret-password-99';
const FAR_ADDRESS = '198.51.100.23';

describeEachDialect('audit log', (dialect) => {
  let s: TestServer;
  let adminId: string;
  const adminHeaders: Headers = { 'x-api-key': BOOTSTRAP_KEY };
  /** Every secret the tests send or receive; none may reach the audit table. */
  const secrets = new Set<string>([
    BOOTSTRAP_KEY,
    PASSWORD,
    NEW_PASSWORD,
    PASSWORD_AS_USERNAME,
    WRONG_PASSWORD,
  ]);

  beforeAll(async () => {
    // The test client is a trusted proxy, so X-Forwarded-For can play another address.
    s = await startTestServer(dialect, {
      LATCHKEY_TRUSTED_PROXIES: '127.0.0.1',
      LATCHKEY_LOCKOUT_ATTEMPTS: '3',
    });
  });
  afterAll(() => s.close());

  const call = (method: string, path: string, headers: Headers = adminHeaders, json?: unknown) =>
    s.call(`/api/v1${path}`, { method, headers, json });

  const rows = (action: AuditAction): Promise<AuditEventRow[]> =>
    s.app.storage.db
      .selectFrom('audit_events')
      .selectAll()
      .where('action', '=', action)
      .orderBy('at')
      .execute();

  /** The one row of this action about this target (or, without a target, the newest). */
  async function event(action: AuditAction, targetId?: string): Promise<AuditEventRow> {
    const found = (await rows(action)).filter((r) => targetId === undefined || r.target_id === targetId);
    expect(found.length, `${action} ${targetId ?? ''}`).toBeGreaterThanOrEqual(1);
    return found.at(-1) as AuditEventRow;
  }

  /** An event done by the bootstrap admin from the test client. */
  const asAdmin = () => ({
    actor_id: adminId,
    actor_username: 'admin',
    client_ip: '127.0.0.1',
    outcome: 'success',
  });

  async function loginAs(username: string, password: string, headers: Headers = {}) {
    const r = await s.call('/api/v1/auth/login', { method: 'POST', headers, json: { username, password } });
    if (r.status === 200) {
      secrets.add(r.body.token);
      secrets.add(r.body.csrf_token);
      for (const cookie of r.headers.getSetCookie()) secrets.add(cookie.split(';')[0]?.split('=')[1] ?? '');
    }
    return r;
  }

  it('records the bootstrap, and a refused second one', async () => {
    const r = await s.call('/api/v1/auth/register-key', {
      method: 'POST',
      json: { api_key: BOOTSTRAP_KEY, label: 'first' },
    });
    expectStatus(r, 201);
    adminId = r.body.user_id;
    expect(await event('auth.bootstrap', r.body.key_id)).toMatchObject({
      ...asAdmin(),
      target_type: 'key',
      detail: expect.stringContaining('first'),
    });
    const again = await s.call('/api/v1/auth/register-key', {
      method: 'POST',
      json: { api_key: `${BOOTSTRAP_KEY}-2`, label: 'second' },
    });
    expectProblem(again, 409, 'BOOTSTRAP_DONE');
    const refused = (await rows('auth.bootstrap')).filter((e) => e.outcome === 'failure');
    expect(refused).toEqual([
      expect.objectContaining({ actor_id: null, client_ip: '127.0.0.1', target_id: null }),
    ]);
  });

  it('records logins, failed logins, logout and issued tokens', async () => {
    const created = await call('POST', '/admin/users', adminHeaders, {
      username: 'olive',
      password: PASSWORD,
    });
    expectStatus(created, 201);
    const olive = created.body.id as string;
    expect(await event('user.created', olive)).toMatchObject({
      ...asAdmin(),
      target_type: 'user',
      detail: expect.stringContaining('olive'),
    });

    const login = await loginAs('olive', PASSWORD);
    expectStatus(login, 200);
    expect(await event('auth.login', olive)).toMatchObject({
      actor_id: olive,
      actor_username: 'olive',
      client_ip: '127.0.0.1',
      outcome: 'success',
      target_type: 'user',
    });

    expectProblem(await loginAs('olive', WRONG_PASSWORD), 401, 'AUTHENTICATION_FAILED');
    const failures = (await rows('auth.login')).filter((e) => e.outcome === 'failure');
    expect(failures.at(-1)).toMatchObject({
      actor_id: null,
      client_ip: '127.0.0.1',
      target_type: 'user',
      target_id: olive,
      detail: expect.stringContaining('wrong password'),
    });
    // A password typed into the username field is not written down.
    expectProblem(await loginAs(PASSWORD_AS_USERNAME, PASSWORD), 401, 'AUTHENTICATION_FAILED');
    const unknown = (await rows('auth.login')).filter((e) => e.outcome === 'failure').at(-1);
    expect(unknown).toMatchObject({ actor_id: null, target_id: null, detail: 'login: unknown username' });

    const bearer = { authorization: `Bearer ${login.body.token}` };
    expectStatus(await call('POST', '/auth/logout', bearer), 204);
    expect(await event('auth.logout', olive)).toMatchObject({
      actor_id: olive,
      client_ip: '127.0.0.1',
      outcome: 'success',
    });

    const token = await s.call('/api/v1/auth/get_api_token', {
      method: 'POST',
      json: { username: 'olive', password: PASSWORD },
    });
    expectStatus(token, 200);
    secrets.add(token.body.token);
    expect(await event('token.issued', token.body.id)).toMatchObject({
      actor_id: olive,
      actor_username: 'olive',
      client_ip: '127.0.0.1',
      target_type: 'key',
      outcome: 'success',
    });
    // The same token handed out again is not a new issue.
    const same = await s.call('/api/v1/auth/get_api_token', {
      method: 'POST',
      json: { username: 'olive', password: PASSWORD },
    });
    expect(same.body.token).toBe(token.body.token);
    expect(await rows('token.issued')).toHaveLength(1);
    const failedToken = await s.call('/api/v1/auth/get_api_token', {
      method: 'POST',
      json: { username: 'olive', password: WRONG_PASSWORD },
    });
    expectProblem(failedToken, 401, 'AUTHENTICATION_FAILED');
    expect((await rows('auth.login')).filter((e) => e.outcome === 'failure').at(-1)).toMatchObject({
      target_id: olive,
      detail: expect.stringMatching(/^get_api_token: /),
    });
  });

  it("records each change to one's own keys", async () => {
    const login = await loginAs('olive', PASSWORD);
    const olive = login.body.user.id as string;
    const me = { authorization: `Bearer ${login.body.token}` };
    const created = await call('POST', '/keys', me, { name: 'olive-ci' });
    expectStatus(created, 201);
    secrets.add(created.body.key);
    const id = created.body.id as string;
    const mine = {
      actor_id: olive,
      actor_username: 'olive',
      client_ip: '127.0.0.1',
      outcome: 'success',
      target_type: 'key',
    };
    expect(await event('key.created', id)).toMatchObject({ ...mine, detail: 'olive-ci' });

    expectStatus(await call('PATCH', `/keys/${id}`, me, { name: 'olive-deploy', write_enabled: false }), 200);
    expect(await event('key.updated', id)).toMatchObject({
      ...mine,
      detail: expect.stringMatching(/olive-deploy: name, write_enabled/),
    });

    const rotated = await call('POST', `/keys/${id}/rotate`, me, { grace_seconds: 60 });
    expectStatus(rotated, 201);
    secrets.add(rotated.body.key);
    expect(await event('key.rotated', id)).toMatchObject({
      ...mine,
      detail: expect.stringContaining(rotated.body.id),
    });

    const next = rotated.body.id as string;
    expectStatus(await call('POST', `/keys/${next}/deactivate`, me), 200);
    expect(await event('key.deactivated', next)).toMatchObject(mine);
    expectStatus(await call('POST', `/keys/${next}/activate`, me), 200);
    expect(await event('key.activated', next)).toMatchObject(mine);
    expectStatus(await call('DELETE', `/keys/${next}`, me), 204);
    expect(await event('key.deleted', next)).toMatchObject({ ...mine, detail: 'olive-deploy' });

    // A refused change is not recorded as done.
    const before = (await rows('key.deleted')).length;
    expectProblem(await call('DELETE', `/keys/${next}`, me), 404, 'KEY_NOT_FOUND');
    expect(await rows('key.deleted')).toHaveLength(before);
  });

  it("records an admin's changes to other users' keys and to users", async () => {
    const user = await s.createUser('pete');
    const key = await s.createKey(user, { name: 'pete-key' });
    secrets.add(key.key);
    const onKey = { ...asAdmin(), target_type: 'key' };
    expectStatus(await call('POST', `/admin/keys/${key.id}/deactivate`), 200);
    expect(await event('key.deactivated', key.id)).toMatchObject({
      ...onKey,
      detail: expect.stringContaining('pete-key'),
    });
    expectStatus(await call('POST', `/admin/keys/${key.id}/activate`), 200);
    expect(await event('key.activated', key.id)).toMatchObject(onKey);
    expectStatus(await call('DELETE', `/admin/keys/${key.id}`), 204);
    expect(await event('key.deleted', key.id)).toMatchObject(onKey);

    const onUser = { ...asAdmin(), target_type: 'user' };
    expectStatus(
      await call('PATCH', `/admin/users/${user.id}`, adminHeaders, {
        is_active: false,
        can_create_tokens: false,
      }),
      200,
    );
    expect(await event('user.updated', user.id)).toMatchObject({
      ...onUser,
      detail: 'pete: is_active: true → false, can_create_tokens: true → false',
    });
    expectStatus(
      await call('POST', `/admin/users/${user.id}/password`, adminHeaders, { password: NEW_PASSWORD }),
      204,
    );
    expect(await event('user.password_reset', user.id)).toMatchObject(onUser);
    expectStatus(await call('DELETE', `/admin/users/${user.id}`), 204);
    expect(await event('user.deleted', user.id)).toMatchObject({
      ...onUser,
      detail: expect.stringContaining('pete'),
    });

    // Refusals change nothing and are not recorded as changes.
    const updates = (await rows('user.updated')).length;
    expectProblem(
      await call('PATCH', `/admin/users/${adminId}`, adminHeaders, { is_superuser: false }),
      409,
      'LAST_SUPERUSER',
    );
    expect(await rows('user.updated')).toHaveLength(updates);
  });

  it('records a cleared lockout', async () => {
    for (let i = 0; i < 3; i++) {
      await s.call('/api/v1/auth/whoami', {
        headers: { 'x-forwarded-for': '203.0.113.9', 'x-api-key': `no-such-key-${'q'.repeat(30)}` },
      });
    }
    expectStatus(await call('DELETE', '/admin/lockouts/203.0.113.9'), 204);
    expect(await event('lockout.cleared', '203.0.113.9')).toMatchObject({
      ...asAdmin(),
      target_type: 'address',
    });
  });

  it('filters by action, outcome, actor, target, client address and time', async () => {
    const list = async (query: string) => {
      const r = await call('GET', `/admin/audit-events?limit=200&${query}`);
      expectStatus(r, 200);
      return r.body.results as AuditEventRow[];
    };
    const all = await list('');
    expect(all.length).toBe((await call('GET', '/admin/audit-events')).body.count);
    for (const e of all) {
      expect(Object.keys(e).sort()).toEqual(
        [
          'action',
          'actor_id',
          'actor_username',
          'at',
          'client_ip',
          'detail',
          'id',
          'outcome',
          'target_id',
          'target_type',
        ].sort(),
      );
    }

    const created = await list('action=key.created');
    expect(created.length).toBeGreaterThan(0);
    expect(created.every((e) => e.action === 'key.created')).toBe(true);
    const failed = await list('outcome=failure');
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.every((e) => e.outcome === 'failure')).toBe(true);
    const failedLogins = await list('action=auth.login&outcome=failure');
    expect(failedLogins.length).toBe(
      all.filter((e) => e.action === 'auth.login' && e.outcome === 'failure').length,
    );
    const mine = await list(`actor_id=${adminId}`);
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.every((e) => e.actor_id === adminId)).toBe(true);
    const aboutAddress = await list('target_id=203.0.113.9');
    expect(aboutAddress.map((e) => e.action)).toContain('lockout.cleared');
    expect(aboutAddress.every((e) => e.target_id === '203.0.113.9')).toBe(true);

    // An address seen through the trusted proxy.
    expectStatus(await loginAs('olive', PASSWORD, { 'x-forwarded-for': FAR_ADDRESS }), 200);
    const far = await list(`client_ip=${FAR_ADDRESS}`);
    expect(far).toEqual([
      expect.objectContaining({ action: 'auth.login', client_ip: FAR_ADDRESS, actor_username: 'olive' }),
    ]);

    const newest = all[0] as AuditEventRow;
    const oldest = all.at(-1) as AuditEventRow;
    expect((await list(`until=${oldest.at}`)).length).toBe(0);
    expect((await list(`since=${oldest.at}`)).length).toBeGreaterThanOrEqual(all.length);
    const afterNewest = new Date(Date.parse(newest.at) + 1).toISOString();
    expect((await list(`since=${encodeURIComponent(afterNewest)}`)).map((e) => e.client_ip)).toEqual([
      FAR_ADDRESS,
    ]);
    // The same instant written with an offset means the same.
    const withOffset = new Date(Date.parse(afterNewest) + 7_200_000).toISOString().replace('Z', '+02:00');
    expect((await list(`since=${encodeURIComponent(withOffset)}`)).map((e) => e.client_ip)).toEqual([
      FAR_ADDRESS,
    ]);
    expect(await list(`action=key.created&actor_id=00000000-0000-4000-8000-000000000000`)).toEqual([]);
    expectProblem(
      await call('GET', '/admin/audit-events?actor_id=nope'),
      400,
      'VALIDATION_FAILED',
      'query.actor_id',
    );
    expectProblem(
      await call('GET', '/admin/audit-events?outcome=maybe'),
      400,
      'VALIDATION_FAILED',
      'query.outcome',
    );
    expectProblem(
      await call('GET', '/admin/audit-events?until=2026-13-45'),
      400,
      'VALIDATION_FAILED',
      'query.until',
    );
  });

  it('never holds a key, password, token or cookie', async () => {
    const all = await s.app.storage.db.selectFrom('audit_events').selectAll().execute();
    expect(all.length).toBeGreaterThan(20);
    const text = JSON.stringify(all);
    secrets.delete('');
    expect(secrets.size).toBeGreaterThan(10);
    for (const secret of secrets)
      expect(text.includes(secret), `the audit table holds ${secret}`).toBe(false);
    // Nor the digests of keys.
    const digests = await s.app.storage.db.selectFrom('api_keys').select('digest').execute();
    for (const { digest } of digests) expect(text).not.toContain(digest);
  });
});
