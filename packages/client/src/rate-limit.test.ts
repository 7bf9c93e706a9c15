import { describe, expect, it } from 'vitest';
import { parseRateLimit, parseRetryAfter } from './rate-limit.js';

const NOW = Date.parse('2026-11-22T10:00:00.000Z');
const at = (secondsFromNow: number) => new Date(NOW + secondsFromNow * 1000);
const read = (headers: Record<string, string>) => parseRateLimit(new Headers(headers), NOW);

describe('parseRateLimit', () => {
  it('reads X-RateLimit-* with the reset in epoch seconds', () => {
    expect(
      read({
        'X-RateLimit-Limit': '100',
        'X-RateLimit-Remaining': '42',
        'X-RateLimit-Reset': String(NOW / 1000 + 17),
      }),
    ).toEqual({ limit: 100, remaining: 42, resetAt: at(17) });
  });

  it('reads a small X-RateLimit-Reset as seconds from now', () => {
    expect(read({ 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': '30' })).toEqual({
      limit: null,
      remaining: 0,
      resetAt: at(30),
    });
  });

  it('reads the IETF RateLimit and RateLimit-Policy fields', () => {
    expect(read({ RateLimit: '"default";r=42;t=17', 'RateLimit-Policy': '"default";q=100;w=60' })).toEqual({
      limit: 100,
      remaining: 42,
      resetAt: at(17),
    });
  });

  it('takes the tightest of several IETF policies, with its own quota', () => {
    expect(
      read({
        RateLimit: '"burst";r=9;t=1, "daily";r=3;t=3600',
        'RateLimit-Policy': '"burst";q=10;w=1, "daily";q=1000;w=86400',
      }),
    ).toEqual({ limit: 1000, remaining: 3, resetAt: at(3600) });
  });

  it('reads the dictionary form of draft 07 and the separate fields of earlier drafts', () => {
    expect(read({ RateLimit: 'limit=100, remaining=50, reset=30' })).toEqual({
      limit: 100,
      remaining: 50,
      resetAt: at(30),
    });
    expect(read({ 'RateLimit-Limit': '10', 'RateLimit-Remaining': '1', 'RateLimit-Reset': '5' })).toEqual({
      limit: 10,
      remaining: 1,
      resetAt: at(5),
    });
  });

  it('prefers X-RateLimit-* and fills what they leave out from the IETF fields', () => {
    expect(
      read({
        'X-RateLimit-Remaining': '7',
        RateLimit: '"default";r=8;t=20',
        'RateLimit-Policy': '"default";q=100;w=60',
      }),
    ).toEqual({ limit: 100, remaining: 7, resetAt: at(20) });
  });

  it('is undefined without rate-limit headers, and ignores values that are not counts', () => {
    expect(read({ 'Content-Type': 'application/json' })).toBeUndefined();
    expect(read({ 'X-RateLimit-Remaining': 'lots' })).toBeUndefined();
    expect(read({ 'X-RateLimit-Limit': '-1', 'X-RateLimit-Remaining': '3' })).toEqual({
      limit: null,
      remaining: 3,
      resetAt: null,
    });
  });
});

describe('parseRetryAfter', () => {
  it('reads delay-seconds and HTTP dates as milliseconds to wait', () => {
    expect(parseRetryAfter(new Headers({ 'Retry-After': '2' }), NOW)).toBe(2000);
    expect(parseRetryAfter(new Headers({ 'Retry-After': new Date(NOW + 5000).toUTCString() }), NOW)).toBe(
      5000,
    );
    expect(parseRetryAfter(new Headers({ 'Retry-After': new Date(NOW - 5000).toUTCString() }), NOW)).toBe(0);
  });

  it('is undefined when missing or unreadable', () => {
    expect(parseRetryAfter(new Headers(), NOW)).toBeUndefined();
    expect(parseRetryAfter(new Headers({ 'Retry-After': 'soon' }), NOW)).toBeUndefined();
  });
});
