import { ApiError } from '@latchkey/core';
import { describe, expect, it } from 'vitest';
import { checkKey } from './keys.js';
import { MockStore } from './store.js';

const PASSWORD = 'a-long-test-password-42';

function setup() {
  let now = Date.parse('2026-11-22T10:00:00.000Z');
  const store = new MockStore({}, () => now);
  const alice = store.users.create({ username: 'alice', password: PASSWORD });
  return { store, alice, advance: (ms: number) => (now += ms), now: () => now };
}

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (err) {
    if (err instanceof ApiError) return err.code;
    throw err;
  }
  return undefined;
}

describe('store', () => {
  it('refuses weak passwords, bad and taken usernames as the server does', () => {
    const { store } = setup();
    expect(codeOf(() => store.users.create({ username: 'bob', password: 'short' }))).toBe(
      'VALIDATION_FAILED',
    );
    expect(codeOf(() => store.users.create({ username: 'bob', password: 'password123' }))).toBe(
      'VALIDATION_FAILED',
    );
    expect(codeOf(() => store.users.create({ username: 'b o b', password: PASSWORD }))).toBe(
      'VALIDATION_FAILED',
    );
    expect(codeOf(() => store.users.create({ username: 'alice', password: PASSWORD }))).toBe(
      'USERNAME_TAKEN',
    );
  });

  it('rotates with a grace period, then the old key expires', () => {
    const { store, alice, advance, now } = setup();
    const old = store.keys.create(alice, { name: 'ci' }, 'api');
    const fresh = store.keys.rotate(alice, old, 60);
    expect(fresh).toMatchObject({ name: 'ci', rotated_from_id: old.id, created_via: 'rotation' });
    expect(checkKey(old, alice, now())).toBe('VALID');
    advance(60_000);
    expect(checkKey(old, alice, now())).toBe('EXPIRED');
    expect(store.keys.find(fresh.secret)?.id).toBe(fresh.id);
    expect(codeOf(() => store.keys.rotate(alice, old, 0))).toBe('KEY_NOT_ROTATABLE');
  });

  it('narrows but never widens', () => {
    const { store, alice } = setup();
    const key = store.keys.create(alice, { name: 'k', allowed_ips: ['10.0.0.0/8', '192.168.0.1'] }, 'api');
    store.keys.update(key, { allowed_ips: ['10.0.0.0/8'], expires_at: '2027-01-01T00:00:00Z' });
    expect(key.allowed_ips).toEqual(['10.0.0.0/8']);
    expect(codeOf(() => store.keys.update(key, { allowed_ips: ['192.168.0.1'] }))).toBe('CANNOT_WIDEN');
    expect(codeOf(() => store.keys.update(key, { expires_at: '2028-01-01T00:00:00Z' }))).toBe('CANNOT_WIDEN');
    expect(codeOf(() => store.keys.update(key, { expires_at: '2020-01-01T00:00:00Z' }))).toBe(
      'VALIDATION_FAILED',
    );
  });

  it('refuses a duplicate key value and restores a deleted one', () => {
    const { store, alice } = setup();
    const value = 'restored-key-0123456789abcdefghijkl';
    const first = store.keys.create(alice, { name: 'a', key: value }, 'api');
    expect(codeOf(() => store.keys.create(alice, { name: 'b', key: value }, 'api'))).toBe(
      'KEY_ALREADY_EXISTS',
    );
    store.keys.delete(first);
    expect(store.keys.find(value)).toBeUndefined();
    expect(store.keys.create(alice, { name: 'b', key: value }, 'api').start).toBe('rest');
  });

  it('keeps the last active superuser', () => {
    const { store } = setup();
    const root = store.users.create({ username: 'root', password: PASSWORD, is_superuser: true });
    expect(codeOf(() => store.users.updateFlags(root.id, { is_active: false }))).toBe('LAST_SUPERUSER');
    expect(codeOf(() => store.deleteUser(root.id))).toBe('LAST_SUPERUSER');
    store.users.create({ username: 'root2', password: PASSWORD, is_superuser: true });
    expect(store.users.updateFlags(root.id, { is_superuser: false }).after.is_superuser).toBe(false);
  });

  it('bootstraps only while nothing exists, checking the key first', () => {
    const empty = new MockStore();
    expect(empty.bootstrapStatus()).toEqual({ needs_bootstrap: true, has_db_keys: false });
    expect(codeOf(() => empty.registerFirstKey('short', undefined))).toBe('VALIDATION_FAILED');
    expect(empty.users.byId.size).toBe(0);
    const { user, key } = empty.registerFirstKey('k'.repeat(40), '  first  ');
    expect([user.username, user.is_superuser, user.password, key.name]).toEqual([
      'admin',
      true,
      null,
      'first',
    ]);
    expect(codeOf(() => empty.registerFirstKey('j'.repeat(40), undefined))).toBe('BOOTSTRAP_DONE');
  });

  it('returns the same get_api_token token until it expires', () => {
    const { store, alice, advance } = setup();
    const first = store.keys.issueToken(alice, 30);
    expect(first.issued).toBe(true);
    expect(store.keys.issueToken(alice, 30)).toEqual({ key: first.key, issued: false });
    advance(30 * 86_400_000);
    expect(store.keys.issueToken(alice, 30).key.id).not.toBe(first.key.id);
  });
});
