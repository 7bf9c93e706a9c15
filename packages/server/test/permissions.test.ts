import { listOperations, type UserRecord } from '@latchkey/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem, expectStatus, fields } from './support/expect.js';
import { describeEachDialect, PASSWORD, startTestServer, type TestServer } from './support/test-server.js';

// Permissions on keys: every operation that needs a credential names the one permission a
// restricted key must hold, and a key never gives a new key more than it holds itself.

const UNKNOWN_ID = '3f1c9a52-0d7e-4b8a-9c61-5e2f7d4a1b90';
const PERMISSION_OF = /^(profile|keys|admin):(read|write|verify)$/;

/** The operations a key in X-API-Key can call, from the contract. */
const KEY_OPERATIONS = listOperations().filter(
  (op) => op.authenticates && (op.operation.security ?? []).some((r) => 'ApiKeyHeader' in r),
);

/** The operation's path with every parameter filled by an id that matches nothing. */
const concrete = (path: string) => path.replace(/\{[^}]+\}/g, UNKNOWN_ID);

describe('the contract', () => {
  it('names exactly one permission of the documented families for every operation that authenticates', () => {
    const authenticated = listOperations().filter((op) => op.authenticates);
    expect(authenticated.length).toBeGreaterThanOrEqual(25);
    for (const op of authenticated) {
      const scopes = new Set((op.operation.security ?? []).flatMap((r) => Object.values(r).flat()));
      expect([...scopes], op.operationId).toHaveLength(1);
      expect(op.permission, op.operationId).toMatch(PERMISSION_OF);
      // Reads are GETs; everything else writes (or verifies).
      if (op.method === 'get') expect(op.permission, op.operationId).toMatch(/:read$/);
      else expect(op.permission, op.operationId).toMatch(/:(write|verify)$/);
    }
  });
});

describeEachDialect('permissions', (dialect) => {
  let s: TestServer;
  let admin: UserRecord;
  let alice: UserRecord;
  let n = 0;

  beforeAll(async () => {
    s = await startTestServer(dialect);
    admin = await s.createUser('perm-admin', { superuser: true });
    alice = await s.createUser('perm-alice');
  });
  afterAll(() => s.close());

  const keyOf = async (user: UserRecord, input: Parameters<TestServer['createKey']>[1] = {}) => {
    n += 1;
    return s.createKey(user, { name: `perm key ${n}`, ...input });
  };
  const call = (key: string, method: string, path: string, json?: unknown) =>
    s.call(path, { method: method.toUpperCase(), headers: { 'x-api-key': key }, json });

  it('refuses a key without permissions on every operation, naming what it lacks', async () => {
    const { key } = await keyOf(admin, { permissions: [] });
    for (const op of KEY_OPERATIONS) {
      const r = await call(key, op.method, concrete(op.path), op.method === 'get' ? undefined : {});
      expectProblem(r, 403, 'INSUFFICIENT_PERMISSIONS');
      expect(r.body.detail, op.operationId).toContain(op.permission);
      expect(r.body.detail).toContain('no permission');
    }
  });

  it('lets a key with just the operation permission past the check, and no further', async () => {
    for (const op of KEY_OPERATIONS) {
      const permission = op.permission as string;
      const { key } = await keyOf(admin, { permissions: [permission] });
      const r = await call(key, op.method, concrete(op.path), op.method === 'get' ? undefined : {});
      expect(r.body?.code, `${op.operationId} with ${permission}`).not.toBe('INSUFFICIENT_PERMISSIONS');
      // The same key on an operation of another permission is refused.
      const other = KEY_OPERATIONS.find((o) => o.permission !== permission) as (typeof KEY_OPERATIONS)[0];
      const refused = await call(
        key,
        other.method,
        concrete(other.path),
        other.method === 'get' ? undefined : {},
      );
      expectProblem(refused, 403, 'INSUFFICIENT_PERMISSIONS');
      expect(refused.body.detail).toContain(`it holds ${permission}`);
    }
  });

  it('matches a * segment to any one segment', async () => {
    const { key } = await keyOf(admin, { permissions: ['keys:*'] });
    expectStatus(await call(key, 'get', '/api/v1/keys'), 200);
    const created = await call(key, 'post', '/api/v1/keys', { name: 'child' });
    expectStatus(created, 201);
    expectProblem(await call(key, 'get', '/api/v1/auth/whoami'), 403, 'INSUFFICIENT_PERMISSIONS');
  });

  it('stores, shows and lists permissions; null means everything the owner may do', async () => {
    const { key } = await keyOf(alice);
    const made = await call(key, 'post', '/api/v1/keys', {
      name: 'reader',
      permissions: ['keys:read', 'profile:read'],
    });
    expectStatus(made, 201);
    expect(made.body.permissions).toEqual(['keys:read', 'profile:read']);
    const read = await call(key, 'get', `/api/v1/keys/${made.body.id}`);
    expect(read.body.permissions).toEqual(['keys:read', 'profile:read']);
    const list = await call(key, 'get', '/api/v1/keys');
    const mine = list.body.results.find((k: { id: string }) => k.id === made.body.id);
    expect(mine.permissions).toEqual(['keys:read', 'profile:read']);
    const unrestricted = list.body.results.find((k: { name: string }) => k.name.startsWith('perm key'));
    expect(unrestricted.permissions).toBeNull();
    // The new key works for what it holds, and nothing else.
    expectStatus(await call(made.body.key, 'get', '/api/v1/auth/whoami'), 200);
    expectProblem(
      await call(made.body.key, 'post', '/api/v1/keys', { name: 'x' }),
      403,
      'INSUFFICIENT_PERMISSIONS',
    );
  });

  it('refuses malformed permissions with the field at fault, and stores nothing', async () => {
    const { key } = await keyOf(alice);
    const before = (await call(key, 'get', '/api/v1/keys')).body.count;
    expect(before).toBeGreaterThan(0);
    const bad = [
      ['Keys:Read'],
      ['keys::read'],
      ['keys:re*d'],
      [':read'],
      ['x'.repeat(65)],
      ['keys:read', 'keys:read'],
      Array.from({ length: 51 }, (_, i) => `app${i}:read`),
      'keys:read',
    ];
    for (const permissions of bad) {
      const r = await call(key, 'post', '/api/v1/keys', { name: 'bad', permissions });
      expectProblem(r, 400, 'VALIDATION_FAILED');
      expect(
        fields(r).some((f) => f.startsWith('body.permissions')),
        JSON.stringify(r.body),
      ).toBe(true);
    }
    expect((await call(key, 'get', '/api/v1/keys')).body.count).toBe(before);
  });

  describe('a key never gives more than it holds', () => {
    it('creates keys with its own permissions at most', async () => {
      const { key } = await keyOf(alice, { permissions: ['keys:read', 'keys:write', 'archive.*:read'] });
      // Nothing asked: the creator's own.
      const inherit = await call(key, 'post', '/api/v1/keys', { name: 'inherit' });
      expectStatus(inherit, 201);
      expect(inherit.body.permissions).toEqual(['keys:read', 'keys:write', 'archive.*:read']);
      // Unrestricted asked for: bounded to the creator's.
      const wide = await call(key, 'post', '/api/v1/keys', { name: 'wide', permissions: null });
      expect(wide.body.permissions).toEqual(['keys:read', 'keys:write', 'archive.*:read']);
      // A subset, a wildcard's instance: fine.
      const sub = await call(key, 'post', '/api/v1/keys', {
        name: 'sub',
        permissions: ['keys:read', 'archive.snapshots:read'],
      });
      expectStatus(sub, 201);
      // More: refused, naming what it lacks, and nothing is created.
      const before = (await call(key, 'get', '/api/v1/keys')).body.count;
      expect(before).toBeGreaterThan(0);
      expect(before).toBeGreaterThan(0);
      const more = await call(key, 'post', '/api/v1/keys', {
        name: 'more',
        permissions: ['keys:read', 'admin:write', 'archive.snapshots:write'],
      });
      expectProblem(more, 403, 'INSUFFICIENT_PERMISSIONS');
      expect(more.body.detail).toContain('admin:write, archive.snapshots:write');
      expect((await call(key, 'get', '/api/v1/keys')).body.count).toBe(before);
    });

    it('creates keys that expire no later than it, and only from its own addresses', async () => {
      const expires = new Date(Date.now() + 3600_000).toISOString();
      const { key } = await keyOf(alice, { expires_at: expires, allowed_ips: ['127.0.0.1'] });
      const child = await call(key, 'post', '/api/v1/keys', { name: 'child' });
      expectStatus(child, 201);
      expect(child.body.expires_at).toBe(expires);
      expect(child.body.allowed_ips).toEqual(['127.0.0.1']);
      const later = await call(key, 'post', '/api/v1/keys', {
        name: 'later',
        expires_at: new Date(Date.now() + 7200_000).toISOString(),
      });
      expectProblem(later, 400, 'CANNOT_WIDEN', 'body.expires_at');
      expect(later.body.detail).toContain('cannot outlive');
      const never = await call(key, 'post', '/api/v1/keys', { name: 'never', expires_at: null });
      expectStatus(never, 201);
      expect(never.body.expires_at).toBe(expires);
      const elsewhere = await call(key, 'post', '/api/v1/keys', {
        name: 'elsewhere',
        allowed_ips: ['10.0.0.0/8'],
      });
      expectProblem(elsewhere, 400, 'CANNOT_WIDEN', 'body.allowed_ips');
      expect(elsewhere.body.detail).toContain('10.0.0.0/8');
    });

    it('cannot widen a key by PATCH, by restoring its own key value, or by rotation', async () => {
      const { key, id } = await keyOf(alice, { permissions: ['keys:read', 'keys:write'] });
      const narrow = await call(key, 'post', '/api/v1/keys', { name: 'narrow', permissions: ['keys:read'] });
      // PATCH narrows only.
      const widen = await call(key, 'patch', `/api/v1/keys/${narrow.body.id}`, {
        permissions: ['keys:read', 'keys:write'],
      });
      expectProblem(widen, 400, 'CANNOT_WIDEN', 'body.permissions');
      const unrestrict = await call(key, 'patch', `/api/v1/keys/${narrow.body.id}`, { permissions: null });
      expectProblem(unrestrict, 400, 'VALIDATION_FAILED', 'body.permissions');
      // A wildcard narrows to what it stands for.
      const wild = await call(key, 'post', '/api/v1/keys', { name: 'wild', permissions: ['keys:*'] });
      expectProblem(wild, 403, 'INSUFFICIENT_PERMISSIONS');
      const narrower = await call(key, 'patch', `/api/v1/keys/${narrow.body.id}`, { permissions: [] });
      expectStatus(narrower, 200);
      expect(narrower.body.permissions).toEqual([]);
      // A supplied key value gets the same bounds as a generated one.
      const supplied = await call(key, 'post', '/api/v1/keys', {
        name: 'supplied',
        key: 'a-supplied-key-value-that-is-long-enough-1234',
        permissions: ['admin:read'],
      });
      expectProblem(supplied, 403, 'INSUFFICIENT_PERMISSIONS');
      // Rotating a key it may manage but that holds more than it does: refused.
      const { id: wideId } = await keyOf(alice);
      const rotate = await call(key, 'post', `/api/v1/keys/${wideId}/rotate`, {});
      expectProblem(rotate, 403, 'INSUFFICIENT_PERMISSIONS');
      // Rotating itself keeps its permissions on the successor.
      const self = await call(key, 'post', `/api/v1/keys/${id}/rotate`, {});
      expectStatus(self, 201);
      expect(self.body.permissions).toEqual(['keys:read', 'keys:write']);
    });

    it('cannot swap itself for a wider token through get_api_token', async () => {
      const { key } = await keyOf(alice, { permissions: ['keys:read'] });
      // get_api_token wants the owner's password; a key is no substitute.
      const withKey = await s.call('/api/v1/auth/get_api_token', {
        method: 'POST',
        headers: { 'x-api-key': key },
        json: {},
      });
      expectProblem(withKey, 400, 'VALIDATION_FAILED');
      // With the password, the token has its owner's rights, and no more.
      const token = await s.call('/api/v1/auth/get_api_token', {
        method: 'POST',
        json: { username: 'perm-alice', password: PASSWORD },
      });
      expectStatus(token, 200);
      const asToken = { authorization: `Token ${token.body.token}` };
      expectProblem(await s.call('/api/v1/admin/users', { headers: asToken }), 403, 'SUPERUSER_REQUIRED');
      const me = await s.call('/api/v1/auth/whoami', { headers: asToken });
      expectStatus(me, 200);
      expect(me.body.user.is_superuser).toBe(false);
    });

    it('has no admin rights its owner lacks, whatever it holds', async () => {
      const { key } = await keyOf(alice, { permissions: ['admin:read', 'admin:write'] });
      expectProblem(await call(key, 'get', '/api/v1/admin/users'), 403, 'SUPERUSER_REQUIRED');
    });
  });

  it('narrows a wildcard by PATCH to what it stands for', async () => {
    const { key } = await keyOf(alice);
    const made = await call(key, 'post', '/api/v1/keys', {
      name: 'archive',
      permissions: ['archive.*:read'],
    });
    const narrowed = await call(key, 'patch', `/api/v1/keys/${made.body.id}`, {
      permissions: ['archive.snapshots:read'],
    });
    expectStatus(narrowed, 200);
    expect(narrowed.body.permissions).toEqual(['archive.snapshots:read']);
    const back = await call(key, 'patch', `/api/v1/keys/${made.body.id}`, {
      permissions: ['archive.*:read'],
    });
    expectProblem(back, 400, 'CANNOT_WIDEN', 'body.permissions');
  });

  it('is refused for writes when read-only, whatever it holds', async () => {
    const { key } = await keyOf(alice, { write_enabled: false, permissions: ['keys:write'] });
    expectProblem(await call(key, 'post', '/api/v1/keys', { name: 'x' }), 403, 'KEY_READ_ONLY');
  });

  it('records permissions in the audit log when a key is made and when they narrow', async () => {
    const { key } = await keyOf(admin);
    const made = await call(key, 'post', '/api/v1/keys', {
      name: 'audited',
      permissions: ['keys:read', 'x:y'],
    });
    await call(key, 'patch', `/api/v1/keys/${made.body.id}`, { permissions: ['x:y'] });
    const events = await call(key, 'get', `/api/v1/admin/audit-events?target_id=${made.body.id}`);
    expectStatus(events, 200);
    const details = events.body.results.map(
      (e: { action: string; detail: string }) => `${e.action} ${e.detail}`,
    );
    expect(details).toEqual(
      expect.arrayContaining([
        'key.created audited (permissions ["keys:read","x:y"])',
        'key.updated audited: permissions (permissions now ["x:y"])',
      ]),
    );
  });

  it('leaves logins and passwords their owner rights', async () => {
    const login = await s.call('/api/v1/auth/login', {
      method: 'POST',
      json: { username: 'perm-alice', password: PASSWORD },
    });
    const r = await s.call('/api/v1/keys', {
      method: 'POST',
      headers: { authorization: `Bearer ${login.body.token}` },
      json: { name: 'from a login', permissions: ['archive.*:write'] },
    });
    expectStatus(r, 201);
    expect(r.body.permissions).toEqual(['archive.*:write']);
  });
});
