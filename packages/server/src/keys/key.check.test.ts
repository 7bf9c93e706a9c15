import { describe, expect, it } from 'vitest';
import { checkKey, ipAllowed, normaliseIpRule } from './key.check.js';

const now = new Date('2026-11-22T12:00:00.000Z');

describe('checkKey', () => {
  const base = { is_active: 1, expires_at: null, user_is_active: 1 };
  it('decides validity from the record alone', () => {
    expect(checkKey(base, now)).toBe('VALID');
    expect(checkKey({ ...base, is_active: 0 }, now)).toBe('DISABLED');
    expect(checkKey({ ...base, user_is_active: 0 }, now)).toBe('USER_INACTIVE');
    expect(checkKey({ ...base, expires_at: '2026-11-22T12:00:00.000Z' }, now)).toBe('EXPIRED');
    expect(checkKey({ ...base, expires_at: '2026-11-22T12:00:00.001Z' }, now)).toBe('VALID');
  });
});

describe('IP rules', () => {
  it('normalises addresses and ranges and refuses anything else', () => {
    expect(normaliseIpRule('10.0.0.0/8')).toBe('10.0.0.0/8');
    expect(normaliseIpRule(' 2001:DB8::/32 ')).toBe('2001:db8::/32');
    expect(normaliseIpRule('203.0.113.7')).toBe('203.0.113.7');
    for (const bad of ['nope', '10.0.0.0/33', '10.0.0.0/8/1', '::/129', '10.0.0.0/x', '']) {
      expect(normaliseIpRule(bad)).toBeUndefined();
    }
  });

  it('matches addresses against rules; no rules allow everyone', () => {
    expect(ipAllowed([], '198.51.100.1')).toBe(true);
    expect(ipAllowed(['10.0.0.0/8'], '10.1.2.3')).toBe(true);
    expect(ipAllowed(['10.0.0.0/8'], '11.1.2.3')).toBe(false);
    expect(ipAllowed(['10.0.0.0/8'], '::ffff:10.1.2.3')).toBe(true);
    expect(ipAllowed(['2001:db8::/32'], '2001:db8::1')).toBe(true);
    expect(ipAllowed(['127.0.0.1'], '127.0.0.2')).toBe(false);
  });
});
