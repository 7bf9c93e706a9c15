import { describe, expect, it } from 'vitest';
import { ApiError } from '../api-error.js';
import type { KeyRecord } from './key.record.js';
import { checkKey, type KeyPatch, narrowKey, planRotation } from './key.rules.js';

const now = Date.parse('2026-11-22T12:00:00.000Z');

const key: KeyRecord = {
  id: 'k1',
  user_id: 'u1',
  name: 'ci',
  start: 'lk_abcd',
  digest: 'd',
  pepper_id: 'p',
  write_enabled: true,
  is_active: true,
  expires_at: null,
  allowed_ips: [],
  rate_limit: null,
  permissions: null,
  created_at: '2026-11-22T11:00:00.000Z',
  updated_at: '2026-11-22T11:00:00.000Z',
  last_used_at: null,
  last_used_ip: null,
  created_via: 'api',
  rotated_from_id: null,
  sealed_key: null,
};

function refusal(run: () => unknown): ApiError {
  try {
    run();
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('checkKey', () => {
  it('decides validity from the record and its owner alone', () => {
    expect(checkKey(key, true, now)).toBe('VALID');
    expect(checkKey({ ...key, is_active: false }, true, now)).toBe('DISABLED');
    expect(checkKey(key, false, now)).toBe('USER_INACTIVE');
    expect(checkKey({ ...key, expires_at: '2026-11-22T12:00:00.000Z' }, true, now)).toBe('EXPIRED');
    expect(checkKey({ ...key, expires_at: '2026-11-22T12:00:00.001Z' }, true, now)).toBe('VALID');
  });
});

describe('narrowKey', () => {
  it('renames freely and narrows security fields', () => {
    const narrowed = {
      ...key,
      expires_at: '2026-12-01T00:00:00.000Z',
      allowed_ips: ['10.0.0.0/8', '192.0.2.1'],
    };
    expect(
      narrowKey(
        narrowed,
        { name: 'x', write_enabled: false, expires_at: '2026-11-30T00:00:00Z', allowed_ips: ['192.0.2.1'] },
        now,
      ),
    ).toEqual({
      name: 'x',
      write_enabled: false,
      expires_at: '2026-11-30T00:00:00.000Z',
      allowed_ips: ['192.0.2.1'],
    });
  });

  it('refuses to widen each field, naming it', () => {
    const readOnly = {
      ...key,
      write_enabled: false,
      expires_at: '2026-12-01T00:00:00.000Z',
      allowed_ips: ['192.0.2.1'],
    };
    const widenings: [KeyPatch, string][] = [
      [{ write_enabled: true }, 'body.write_enabled'],
      [{ expires_at: '2026-12-02T00:00:00Z' }, 'body.expires_at'],
      [{ allowed_ips: ['192.0.2.1', '198.51.100.0/24'] }, 'body.allowed_ips'],
    ];
    for (const [patch, field] of widenings) {
      const err = refusal(() => narrowKey(readOnly, patch, now));
      expect(err.code).toBe('CANNOT_WIDEN');
      expect(err.errors?.[0]?.field).toBe(field);
    }
    // A key open to every address is narrowed by any list.
    expect(narrowKey(key, { allowed_ips: ['192.0.2.1'] }, now)).toEqual({ allowed_ips: ['192.0.2.1'] });
    expect(refusal(() => narrowKey(key, { expires_at: '2026-11-22T11:00:00Z' }, now)).code).toBe(
      'VALIDATION_FAILED',
    );
  });
});

describe('planRotation', () => {
  it('ends the old key after the grace period, or at its own earlier expiry', () => {
    expect(planRotation(key, true, 60, now)).toEqual({
      expires_at: '2026-11-22T12:01:00.000Z',
      updated_at: '2026-11-22T12:00:00.000Z',
    });
    const soon = { ...key, expires_at: '2026-11-22T12:00:30.000Z' };
    expect(planRotation(soon, true, 60, now).expires_at).toBe('2026-11-22T12:00:30.000Z');
  });

  it('always moves updated_at, even within the millisecond of the last change', () => {
    const touched = { ...key, updated_at: '2026-11-22T12:00:00.000Z' };
    expect(planRotation(touched, true, 0, now).updated_at).toBe('2026-11-22T12:00:00.001Z');
  });

  it('refuses a key that does not authenticate, and a grace period out of range', () => {
    expect(refusal(() => planRotation({ ...key, is_active: false }, true, 0, now)).code).toBe(
      'KEY_NOT_ROTATABLE',
    );
    expect(refusal(() => planRotation(key, false, 0, now)).code).toBe('KEY_NOT_ROTATABLE');
    expect(
      refusal(() => planRotation({ ...key, expires_at: '2026-11-22T11:59:00.000Z' }, true, 0, now)).detail,
    ).toMatch(/expired/);
    expect(refusal(() => planRotation(key, true, 86_401, now)).errors?.[0]?.field).toBe('body.grace_seconds');
  });
});
