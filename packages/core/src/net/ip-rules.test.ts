import { describe, expect, it } from 'vitest';
import { canonicalAddress, ipAllowed, ipFamily, normaliseIpRule, resolveClientIp } from './ip-rules.js';

describe('ip rules', () => {
  it('normalises addresses and ranges, refuses the rest', () => {
    expect(normaliseIpRule(' 10.0.0.0/8 ')).toBe('10.0.0.0/8');
    expect(normaliseIpRule('2001:DB8::/32')).toBe('2001:db8::/32');
    expect(normaliseIpRule('203.0.113.7')).toBe('203.0.113.7');
    for (const bad of [
      'nope',
      'example.com',
      '10.0.0.256',
      '10.0.0.0/33',
      '10.0.0.0/8/1',
      '::/129',
      '10.0.0.0/x',
      '',
      '127.1',
      '0x7f000001',
      'fe80::1%eth0',
    ]) {
      expect(normaliseIpRule(bad), bad).toBeUndefined();
    }
  });

  it('matches IPv4, IPv6 and IPv4-mapped addresses against the rules; no rules allow everyone', () => {
    expect(ipAllowed([], '203.0.113.7')).toBe(true);
    expect(ipAllowed(['203.0.113.0/24'], '203.0.113.7')).toBe(true);
    expect(ipAllowed(['203.0.113.0/24'], '203.0.114.7')).toBe(false);
    expect(ipAllowed(['127.0.0.1'], '::ffff:127.0.0.1')).toBe(true);
    expect(ipAllowed(['127.0.0.1'], '127.0.0.2')).toBe(false);
    expect(ipAllowed(['2001:db8::/32'], '2001:db8:1::5')).toBe(true);
    expect(ipAllowed(['2001:db8::/32'], '2001:db9::5')).toBe(false);
    expect(ipAllowed(['::1'], '127.0.0.1')).toBe(false);
    expect(ipAllowed(['10.0.0.0/8'], 'not an address')).toBe(false);
  });

  it('takes X-Forwarded-For only from trusted proxies, from the right', () => {
    expect(resolveClientIp('::ffff:192.0.2.9', '203.0.113.5', [])).toBe('192.0.2.9');
    expect(resolveClientIp('192.0.2.9', '203.0.113.5', ['10.0.0.0/8'])).toBe('192.0.2.9');
    expect(resolveClientIp('10.0.0.2', '198.51.100.1, 203.0.113.5, 10.0.0.3', ['10.0.0.0/8'])).toBe(
      '203.0.113.5',
    );
    expect(resolveClientIp('10.0.0.2', 'garbage', ['10.0.0.0/8'])).toBe('10.0.0.2');
  });

  it('keys addresses one way', () => {
    expect(ipFamily('::1')).toBe(6);
    expect(ipFamily('1.2.3.4')).toBe(4);
    expect(canonicalAddress('::FFFF:127.0.0.1')).toBe('127.0.0.1');
    expect(canonicalAddress('2001:DB8::1')).toBe('2001:db8::1');
    expect(canonicalAddress('nope')).toBeUndefined();
  });
});
