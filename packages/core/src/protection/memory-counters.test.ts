import { describe, expect, it } from 'vitest';
import { MemoryLockoutStore, MemoryRequestCounter } from './memory-counters.js';
import { decideRateLimit } from './rate-limit.js';

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
      limit: 2,
      remaining: 0,
      resetAt: 1018,
      headers: {
        'X-RateLimit-Limit': '2',
        'X-RateLimit-Remaining': '0',
        'X-RateLimit-Reset': '1018',
        'RateLimit-Policy': '"default";q=2;w=60',
        RateLimit: '"default";r=0;t=18',
      },
    });
  });

  it('counts per identity, by cost, in a window that resets', async () => {
    let now = 0;
    const counter = new MemoryRequestCounter(() => now);
    expect((await counter.consume('a', 2, 10, 1)).consumed).toBe(1);
    expect((await counter.consume('a', 2, 10, 5)).consumed).toBe(6);
    expect((await counter.consume('b', 2, 10, 1)).consumed).toBe(1);
    now = 10_000;
    expect(await counter.consume('a', 2, 10, 1)).toEqual({ consumed: 1, msBeforeReset: 10_000 });
  });
});

describe('lockout', () => {
  it('locks after the attempts, lists and clears; a success before the lock forgets failures', async () => {
    let now = 0;
    const store = new MemoryLockoutStore(() => now, { attempts: 3, windowS: 60, durationS: 300 });
    await store.fail('a');
    expect(await store.fail('a')).toEqual({ failures: 2, lock: undefined });
    await store.succeed('a');
    expect(await store.state('a')).toEqual({ locked: false, failures: 0, retryAfterS: 0 });
    await store.fail('a');
    await store.fail('a');
    expect(await store.fail('a')).toEqual({
      failures: 3,
      lock: { address: 'a', lockedUntil: new Date(300_000) },
    });
    now = 100_000;
    expect(await store.state('a')).toEqual({ locked: true, failures: 3, retryAfterS: 200 });
    await store.succeed('a');
    expect(await store.list()).toEqual([{ address: 'a', lockedUntil: new Date(300_000) }]);
    expect(await store.clear('a')).toBe(true);
    expect(await store.clear('a')).toBe(false);
    expect(await store.list()).toEqual([]);
  });

  it('forgets failures after the window and lifts the lock after the duration', async () => {
    let now = 0;
    const store = new MemoryLockoutStore(() => now, { attempts: 2, windowS: 60, durationS: 30 });
    await store.fail('a');
    now = 61_000;
    expect((await store.fail('a')).lock).toBeUndefined();
    expect((await store.fail('a')).lock).toEqual({ address: 'a', lockedUntil: new Date(91_000) });
    now = 91_000;
    expect((await store.state('a')).locked).toBe(false);
  });
});
