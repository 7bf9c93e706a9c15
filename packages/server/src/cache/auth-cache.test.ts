import { describe, expect, it } from 'vitest';
import { AuthCache } from './auth-cache.js';

const options = { maxEntries: 10, ttlMs: 60_000 };
const KEY = 'lk_4dZ3kQ0yXbWv7s9N2pLmR8tYcE1uHfGa5JjKx0AB';

describe('AuthCache.entryId', () => {
  it('names an entry without holding the credential, per kind and per process secret', () => {
    const cache = new AuthCache(options);
    const id = cache.entryId('key', KEY);
    expect(id).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(id).not.toContain(KEY.slice(3, 12));
    expect(cache.entryId('key', KEY)).toBe(id);
    expect(cache.entryId('jwt', KEY)).not.toBe(id);
    expect(cache.entryId('key', `${KEY}x`)).not.toBe(id);
    // Another process (or instance) has another secret: names cannot be computed from outside.
    expect(new AuthCache(options).entryId('key', KEY)).not.toBe(id);
  });

  it('finds a stored key by the same name only', () => {
    const cache = new AuthCache(options);
    const found = { key: { id: 'k1' }, user: { id: 'u1' } } as never;
    cache.putKey(cache.entryId('key', KEY), found, cache.generation);
    expect(cache.getKey(cache.entryId('key', KEY))).toBe(found);
    expect(cache.getKey(cache.entryId('basic', KEY))).toBeUndefined();
  });
});
