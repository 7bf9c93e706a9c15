import { describe, expect, it } from 'vitest';
import { LockoutGuard } from './lockout.js';
import { decideRateLimit, RateLimiter } from './rate-limit.js';

describe('rate limit', () => {
  it('decides with the server headers', () => {
    const d = decideRateLimit(
      { name: 'default', limit: 2, windowS: 60 },
      { consumed: 3, msBeforeReset: 17_400 },
      1_000_000,
    );
    expect(d).toEqual({
      allowed: false,
      retryAfterS: 18,
      headers: {
        'X-RateLimit-Limit': '2',
        'X-RateLimit-Remaining': '0',
        'X-RateLimit-Reset': '1018',
        'RateLimit-Policy': '"default";q=2;w=60',
        RateLimit: '"default";r=0;t=18',
      },
    });
  });

  it('counts per identity in a window that resets', () => {
    let now = 0;
    const limiter = new RateLimiter(() => now);
    const policy = { name: 'default' as const, limit: 2, windowS: 10 };
    expect([1, 2, 3].map(() => limiter.consume('a', policy).allowed)).toEqual([true, true, false]);
    expect(limiter.consume('b', policy).allowed).toBe(true);
    now = 10_000;
    expect(limiter.consume('a', policy).headers['X-RateLimit-Remaining']).toBe('1');
  });
});

describe('lockout', () => {
  it('locks after the attempts, lists and clears; a success before the lock forgets failures', () => {
    let now = 0;
    const guard = new LockoutGuard(() => now, { attempts: 3, windowS: 60, durationS: 300 });
    guard.fail('a');
    guard.fail('a');
    guard.succeed('a');
    expect(guard.state('a')).toEqual({ locked: false, failures: 0, retryAfterS: 0 });
    guard.fail('a');
    guard.fail('a');
    expect(guard.fail('a')).toEqual({ lockedUntil: 300_000 });
    now = 100_000;
    expect(guard.state('a')).toEqual({ locked: true, failures: 3, retryAfterS: 200 });
    guard.succeed('a');
    expect(guard.list()).toEqual([{ address: 'a', lockedUntil: 300_000 }]);
    expect(guard.clear('a')).toBe(true);
    expect(guard.clear('a')).toBe(false);
    expect(guard.list()).toEqual([]);
  });

  it('forgets failures after the window and lifts the lock after the duration', () => {
    let now = 0;
    const guard = new LockoutGuard(() => now, { attempts: 2, windowS: 60, durationS: 30 });
    guard.fail('a');
    now = 61_000;
    expect(guard.fail('a')).toBeUndefined();
    expect(guard.fail('a')).toEqual({ lockedUntil: 91_000 });
    now = 91_000;
    expect(guard.state('a').locked).toBe(false);
  });
});
