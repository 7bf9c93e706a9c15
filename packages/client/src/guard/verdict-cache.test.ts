import { describe, expect, it } from 'vitest';
import type { VerifyResult } from '../generated/types.gen.js';
import { VerdictCache } from './verdict-cache.js';

const T0 = Date.parse('2030-01-01T00:00:00Z');
const RESET = T0 / 1000 + 60;

function result(code: VerifyResult['code'], extra: Partial<VerifyResult> = {}): VerifyResult {
  const found = code !== 'NOT_FOUND' && code !== 'INVALID_FORMAT';
  return {
    valid: code === 'VALID',
    code,
    key_id: found ? 'k1' : null,
    owner: found ? { id: 'u1', username: 'alice' } : null,
    permissions: null,
    write_enabled: found ? true : null,
    expires_at: null,
    ratelimit: code === 'VALID' || code === 'RATE_LIMITED' ? { limit: 10, remaining: 4, reset: RESET } : null,
    ...extra,
  };
}

/** A cache holding one VALID verdict for digest `d`, shape `s`, with this rate limit. */
function cacheWith(limit: number, remaining: number): VerdictCache {
  const cache = new VerdictCache(1000, 100);
  cache.store('d', 's', result('VALID', { ratelimit: { limit, remaining, reset: RESET } }), 1, 1, T0);
  return cache;
}

describe('VerdictCache', () => {
  it('answers from a VALID verdict while the rate limit has room, counting it down', () => {
    const cache = cacheWith(10, 2);
    expect(cache.take('d', 's', 1, T0)?.ratelimit).toEqual({ limit: 10, remaining: 1, reset: RESET });
    expect(cache.take('d', 's', 1, T0)?.ratelimit).toEqual({ limit: 10, remaining: 0, reset: RESET });
    // No room left: Latchkey decides.
    expect(cache.take('d', 's', 1, T0)).toBeUndefined();
    // A check that spends nothing still fits.
    expect(cache.take('d', 's', 0, T0)?.code).toBe('VALID');
  });

  it('owes Latchkey what the cached answers spent, and is paid by the next verification', () => {
    const cache = cacheWith(10, 4);
    cache.take('d', 's', 1, T0);
    cache.take('d', 's', 2, T0);
    expect(cache.costToSend('d', 1)).toBe(4);
    cache.store('d', 's', result('VALID'), 1, 4, T0 + 1000);
    expect(cache.costToSend('d', 1)).toBe(1);
  });

  it('never sends more than the contract allows at once, and keeps owing the rest', () => {
    const cache = cacheWith(5000, 4000);
    expect(cache.take('d', 's', 900, T0)).toBeDefined();
    expect(cache.take('d', 's', 900, T0)).toBeDefined();
    expect(cache.costToSend('d', 1)).toBe(1000);
    cache.store('d', 's', result('VALID'), 1, 1000, T0 + 1000);
    expect(cache.costToSend('d', 1)).toBe(802);
  });

  it('forgets a verdict after the TTL, and at the key’s expiry or the window’s reset when sooner', () => {
    const cache = new VerdictCache(1000, 100);
    cache.store('d', 's', result('VALID'), 1, 1, T0);
    expect(cache.take('d', 's', 1, T0 + 999)).toBeDefined();
    expect(cache.take('d', 's', 1, T0 + 1000)).toBeUndefined();

    cache.store('d', 'e', result('VALID', { expires_at: new Date(T0 + 300).toISOString() }), 1, 1, T0);
    expect(cache.take('d', 'e', 1, T0 + 300)).toBeUndefined();

    const limited = result('RATE_LIMITED', { ratelimit: { limit: 10, remaining: 0, reset: T0 / 1000 } });
    cache.store('d', 'r', limited, 1, 1, T0 - 500);
    expect(cache.take('d', 'r', 1, T0 - 1)?.code).toBe('RATE_LIMITED');
    expect(cache.take('d', 'r', 1, T0)).toBeUndefined();
  });

  it('answers refusals as they are, per shape of request', () => {
    const cache = new VerdictCache(1000, 100);
    cache.store('d', 'w', result('READ_ONLY'), 1, 1, T0);
    expect(cache.take('d', 'w', 1, T0)?.code).toBe('READ_ONLY');
    expect(cache.take('d', 'r', 1, T0)).toBeUndefined();
  });

  it('drops what a key owes once the key is gone', () => {
    const cache = new VerdictCache(1000, 100);
    cache.store('d', 's', result('VALID'), 1, 1, T0);
    cache.take('d', 's', 1, T0);
    cache.store('d', 's', result('DISABLED'), 1, 2, T0 + 1000);
    expect(cache.costToSend('d', 1)).toBe(1);
  });

  it('keeps at most maxEntries verdicts, dropping the oldest', () => {
    const cache = new VerdictCache(1000, 3);
    for (const d of ['a', 'b', 'c', 'd']) cache.store(d, 's', result('NOT_FOUND'), 1, 1, T0);
    expect(cache.size).toBe(3);
    expect(cache.take('a', 's', 1, T0)).toBeUndefined();
    expect(cache.take('d', 's', 1, T0)?.code).toBe('NOT_FOUND');
  });

  it('stores nothing with a TTL of 0', () => {
    const cache = new VerdictCache(0, 100);
    cache.store('d', 's', result('VALID'), 1, 1, T0);
    expect(cache.take('d', 's', 1, T0)).toBeUndefined();
  });
});
