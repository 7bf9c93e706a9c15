import { generateKey, type UserRecord } from '@latchkey/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem, expectStatus } from './support/expect.js';
import { describeEachDialect, startTestServer, type TestServer } from './support/test-server.js';

// POST /api/v1/keys/verify: how another service asks whether a key its client presented is
// good for a request.

const VERIFY = '/api/v1/keys/verify';
/** A key of the right form and checksum that was never issued. */
const WELL_FORMED_UNKNOWN = generateKey('lk_');

describeEachDialect('verify', (dialect) => {
  let s: TestServer;
  let verifier: UserRecord;
  let alice: UserRecord;
  let verifierKey: string;
  let n = 0;

  beforeAll(async () => {
    // A low rate limit and lockout: the verifier must never meet either.
    s = await startTestServer(dialect, { LATCHKEY_RATE_LIMIT: '5', LATCHKEY_LOCKOUT_ATTEMPTS: '3' });
    verifier = await s.createUser('verify-service', { canVerifyKeys: true });
    alice = await s.createUser('verify-alice');
    verifierKey = (await s.createKey(verifier, { name: 'verifier' })).key;
  });
  afterAll(() => s.close());

  const keyOf = async (input: Parameters<TestServer['createKey']>[1] = {}) => {
    n += 1;
    return s.createKey(alice, { name: `verified ${n}`, ...input });
  };
  const verify = (json: unknown, key = verifierKey) =>
    s.call(VERIFY, { method: 'POST', headers: { 'x-api-key': key }, json });

  /** A verdict: 200, the code, valid only for VALID. */
  async function expectVerdict(json: unknown, code: string) {
    const r = await verify(json);
    expectStatus(r, 200);
    expect(r.body.code).toBe(code);
    expect(r.body.valid).toBe(code === 'VALID');
    return r.body;
  }

  describe('who may ask', () => {
    it('refuses a request without credentials, and users not marked as verifiers', async () => {
      const r = await s.call(VERIFY, { method: 'POST', json: { key: WELL_FORMED_UNKNOWN } });
      expectProblem(r, 401, 'AUTHENTICATION_REQUIRED');
      const { key: alicesOwn } = await keyOf();
      const refused = await verify({ key: alicesOwn }, alicesOwn);
      expectProblem(refused, 403, 'VERIFIER_REQUIRED');
      expect(refused.body.detail).toContain('can_verify_keys');
    });

    it('lets superusers and verifiers ask; a restricted key needs keys:verify', async () => {
      const root = await s.createUser('verify-root', { superuser: true });
      const { key: rootKey } = await s.createKey(root, { name: 'root' });
      const { key } = await keyOf();
      expectStatus(await verify({ key }, rootKey), 200);
      const { key: narrow } = await s.createKey(verifier, { name: 'narrow', permissions: ['keys:read'] });
      expectProblem(await verify({ key }, narrow), 403, 'INSUFFICIENT_PERMISSIONS');
      const { key: scoped } = await s.createKey(verifier, { name: 'scoped', permissions: ['keys:verify'] });
      expect((await verify({ key }, scoped)).body.code).toBe('VALID');
    });

    it('turns the verifier flag on and off through the admin API', async () => {
      const root = await s.createUser('verify-admin', { superuser: true });
      const { key: rootKey } = await s.createKey(root, { name: 'admin' });
      const bob = await s.createUser('verify-bob');
      const { key: bobKey } = await s.createKey(bob, { name: 'bob' });
      const { key } = await keyOf();
      expectProblem(await verify({ key }, bobKey), 403, 'VERIFIER_REQUIRED');
      const on = await s.call(`/api/v1/admin/users/${bob.id}`, {
        method: 'PATCH',
        headers: { 'x-api-key': rootKey },
        json: { can_verify_keys: true },
      });
      expectStatus(on, 200);
      expect(on.body.can_verify_keys).toBe(true);
      expectStatus(await verify({ key }, bobKey), 200);
      await s.call(`/api/v1/admin/users/${bob.id}`, {
        method: 'PATCH',
        headers: { 'x-api-key': rootKey },
        json: { can_verify_keys: false },
      });
      expectProblem(await verify({ key }, bobKey), 403, 'VERIFIER_REQUIRED');
    });
  });

  describe('the verdicts', () => {
    it('VALID: the key, its owner, permissions and rate limit, never the key or its hash', async () => {
      const { key, id } = await keyOf({ permissions: ['archive.*:read'] });
      const body = await expectVerdict({ key }, 'VALID');
      expect(body).toEqual({
        valid: true,
        code: 'VALID',
        key_id: id,
        owner: { id: alice.id, username: 'verify-alice' },
        permissions: ['archive.*:read'],
        write_enabled: true,
        expires_at: null,
        ratelimit: { limit: 5, remaining: 4, reset: expect.any(Number) },
      });
      expect(body.ratelimit.reset * 1000).toBeGreaterThan(Date.now());
      expect(JSON.stringify(body)).not.toContain(key.slice(3, 12));
    });

    it('INVALID_FORMAT and NOT_FOUND with every other field null', async () => {
      const nulls = {
        key_id: null,
        owner: null,
        permissions: null,
        write_enabled: null,
        expires_at: null,
        ratelimit: null,
      };
      expect(await expectVerdict({ key: 'not-a-key' }, 'INVALID_FORMAT')).toMatchObject(nulls);
      const { key } = await keyOf();
      const badChecksum = `${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`;
      expect(await expectVerdict({ key: badChecksum }, 'INVALID_FORMAT')).toMatchObject(nulls);
      expect(await expectVerdict({ key: WELL_FORMED_UNKNOWN }, 'NOT_FOUND')).toMatchObject(nulls);
    });

    it('DISABLED at once after deactivation (even cached), and for an inactive owner; EXPIRED', async () => {
      const { key, id } = await keyOf();
      await expectVerdict({ key }, 'VALID');
      const off = await s.call(`/api/v1/keys/${id}/deactivate`, {
        method: 'POST',
        headers: { 'x-api-key': key },
      });
      expectStatus(off, 200);
      const disabled = await expectVerdict({ key }, 'DISABLED');
      expect(disabled.key_id).toBe(id);
      expect(disabled.ratelimit).toBeNull();

      const carol = await s.createUser('verify-carol');
      const { key: carols } = await s.createKey(carol, { name: 'carol' });
      await expectVerdict({ key: carols }, 'VALID');
      const root = await s.createUser('verify-deactivator', { superuser: true });
      const { key: rootKey } = await s.createKey(root, { name: 'deactivator' });
      const inactive = await s.call(`/api/v1/admin/users/${carol.id}`, {
        method: 'PATCH',
        headers: { 'x-api-key': rootKey },
        json: { is_active: false },
      });
      expectStatus(inactive, 200);
      await expectVerdict({ key: carols }, 'DISABLED');

      const { key: old, id: oldId } = await keyOf();
      await s.setExpiry(oldId, new Date(Date.now() - 1000).toISOString());
      expect((await expectVerdict({ key: old }, 'EXPIRED')).key_id).toBe(oldId);
    });

    it('INSUFFICIENT_PERMISSIONS unless the key holds every permission asked for', async () => {
      const { key } = await keyOf({ permissions: ['archive.*:read', 'archive.snapshots:write'] });
      await expectVerdict({ key, permissions: ['archive.tags:read'] }, 'VALID');
      await expectVerdict(
        { key, permissions: ['archive.snapshots:read', 'archive.snapshots:write'] },
        'VALID',
      );
      const lacking = await expectVerdict(
        { key, permissions: ['archive.snapshots:write', 'archive.tags:write'] },
        'INSUFFICIENT_PERMISSIONS',
      );
      expect(lacking.permissions).toEqual(['archive.*:read', 'archive.snapshots:write']);
      const { key: unrestricted } = await keyOf();
      await expectVerdict({ key: unrestricted, permissions: ['anything:at-all'] }, 'VALID');
      const { key: none } = await keyOf({ permissions: [] });
      await expectVerdict({ key: none }, 'VALID');
      await expectVerdict({ key: none, permissions: ['archive.tags:read'] }, 'INSUFFICIENT_PERMISSIONS');
    });

    it('READ_ONLY for an unsafe method with a read-only key', async () => {
      const { key } = await keyOf({ write_enabled: false });
      await expectVerdict({ key, method: 'GET' }, 'VALID');
      await expectVerdict({ key, method: 'head' }, 'VALID');
      await expectVerdict({ key }, 'VALID');
      expect((await expectVerdict({ key, method: 'POST' }, 'READ_ONLY')).write_enabled).toBe(false);
      await expectVerdict({ key, method: 'delete' }, 'READ_ONLY');
    });

    it('IP_NOT_ALLOWED outside the key addresses, or when no client address is named', async () => {
      const { key } = await keyOf({ allowed_ips: ['203.0.113.0/24', '2001:db8::/32'] });
      await expectVerdict({ key, client_ip: '203.0.113.7' }, 'VALID');
      await expectVerdict({ key, client_ip: '2001:db8::1' }, 'VALID');
      await expectVerdict({ key, client_ip: '198.51.100.1' }, 'IP_NOT_ALLOWED');
      // The verifier's own address (127.0.0.1 here) never stands for the client's.
      await expectVerdict({ key }, 'IP_NOT_ALLOWED');
    });

    it('RATE_LIMITED once the key limit is spent; cost spends more, 0 spends nothing', async () => {
      const { key } = await keyOf();
      expect((await expectVerdict({ key, cost: 0 }, 'VALID')).ratelimit.remaining).toBe(5);
      expect((await expectVerdict({ key, cost: 3 }, 'VALID')).ratelimit.remaining).toBe(2);
      expect((await expectVerdict({ key, cost: 0 }, 'VALID')).ratelimit.remaining).toBe(2);
      expect((await expectVerdict({ key }, 'VALID')).ratelimit.remaining).toBe(1);
      await expectVerdict({ key }, 'VALID');
      const limited = await expectVerdict({ key }, 'RATE_LIMITED');
      expect(limited.ratelimit).toMatchObject({ limit: 5, remaining: 0 });
      // The key's own requests to Latchkey share the same limit.
      expectProblem(
        await s.call('/api/v1/auth/whoami', { headers: { 'x-api-key': key } }),
        429,
        'RATE_LIMITED',
      );
    });

    it('a big cost is refused at once', async () => {
      const { key } = await keyOf();
      await expectVerdict({ key, cost: 6 }, 'RATE_LIMITED');
    });
  });

  describe('the caller', () => {
    it('is never rate-limited nor locked out by what it verifies', async () => {
      // 5 requests a minute and 3 failures lock out, yet 12 verifies of unknown keys all answer.
      for (let i = 0; i < 12; i++) await expectVerdict({ key: WELL_FORMED_UNKNOWN }, 'NOT_FOUND');
      const r = await verify({ key: WELL_FORMED_UNKNOWN });
      expectStatus(r, 200);
      expect(r.headers.get('x-ratelimit-limit')).toBeNull();
      const root = await s.createUser('verify-lockouts', { superuser: true });
      const { key: rootKey } = await s.createKey(root, { name: 'lockouts' });
      const lockouts = await s.call('/api/v1/admin/lockouts', { headers: { 'x-api-key': rootKey } });
      expectStatus(lockouts, 200);
      expect(lockouts.body.results).toEqual([]);
    });
  });

  it('records the last use, with the client address, when usage is written', async () => {
    const { key, id } = await keyOf();
    await expectVerdict({ key, client_ip: '198.51.100.9' }, 'VALID');
    await s.app.flushUsage();
    const read = await s.call(`/api/v1/keys/${id}`, { headers: { 'x-api-key': key } });
    expect(read.body.last_used_ip).toBe('198.51.100.9');
    expect(Date.parse(read.body.last_used_at)).toBeGreaterThan(Date.now() - 60_000);
  });

  it('refuses bad input with the field at fault', async () => {
    const cases: [unknown, string][] = [
      [{}, 'body.key'],
      [{ key: '' }, 'body.key'],
      [{ key: 'a b' }, 'body.key'],
      [{ key: 'x'.repeat(513) }, 'body.key'],
      [{ key: WELL_FORMED_UNKNOWN, cost: -1 }, 'body.cost'],
      [{ key: WELL_FORMED_UNKNOWN, cost: 1001 }, 'body.cost'],
      [{ key: WELL_FORMED_UNKNOWN, cost: 1.5 }, 'body.cost'],
      [{ key: WELL_FORMED_UNKNOWN, method: 'GET /' }, 'body.method'],
      [{ key: WELL_FORMED_UNKNOWN, client_ip: 'localhost' }, 'body.client_ip'],
      [{ key: WELL_FORMED_UNKNOWN, client_ip: '1.2.3' }, 'body.client_ip'],
      [{ key: WELL_FORMED_UNKNOWN, client_ip: 'abcd' }, 'body.client_ip'],
      [{ key: WELL_FORMED_UNKNOWN, permissions: ['Bad'] }, 'body.permissions[0]'],
      [{ key: WELL_FORMED_UNKNOWN, permissions: ['a::b'] }, 'body.permissions[0]'],
      [{ key: WELL_FORMED_UNKNOWN, permissions: 'keys:read' }, 'body.permissions'],
      [{ key: WELL_FORMED_UNKNOWN, extra: 1 }, 'body.extra'],
    ];
    for (const [json, field] of cases) {
      const r = await verify(json);
      expectProblem(r, 400, 'VALIDATION_FAILED', field);
    }
  });
});
