import { describe, expect, it } from 'vitest';
import { ipAllowed, normaliseIpRule } from './ip-rules.js';

describe('ip rules', () => {
  it('normalises addresses and ranges, refuses the rest', () => {
    expect(normaliseIpRule(' 10.0.0.0/8 ')).toBe('10.0.0.0/8');
    expect(normaliseIpRule('2001:DB8::/32')).toBe('2001:db8::/32');
    expect(normaliseIpRule('10.0.0.256')).toBeUndefined();
    expect(normaliseIpRule('10.0.0.0/33')).toBeUndefined();
    expect(normaliseIpRule('example.com')).toBeUndefined();
  });

  it('matches IPv4, IPv6 and IPv4-mapped addresses against the rules', () => {
    expect(ipAllowed([], '203.0.113.7')).toBe(true);
    expect(ipAllowed(['203.0.113.0/24'], '203.0.113.7')).toBe(true);
    expect(ipAllowed(['203.0.113.0/24'], '203.0.114.7')).toBe(false);
    expect(ipAllowed(['127.0.0.1'], '::ffff:127.0.0.1')).toBe(true);
    expect(ipAllowed(['2001:db8::/32'], '2001:db8:1::5')).toBe(true);
    expect(ipAllowed(['2001:db8::/32'], '2001:db9::5')).toBe(false);
    expect(ipAllowed(['::1'], '127.0.0.1')).toBe(false);
  });
});
