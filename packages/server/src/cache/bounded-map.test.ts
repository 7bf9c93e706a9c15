import { describe, expect, it } from 'vitest';
import { BoundedMap } from './bounded-map.js';

describe('BoundedMap', () => {
  it('never holds more than its bound, and evicts the oldest first', () => {
    const map = new BoundedMap<number>(3, 60_000);
    for (let i = 1; i <= 5; i++) map.set(`k${i}`, i);
    expect(map.size).toBe(3);
    expect([map.get('k1'), map.get('k2')]).toEqual([undefined, undefined]);
    expect([map.get('k3'), map.get('k4'), map.get('k5')]).toEqual([3, 4, 5]);
  });

  it('when full, makes room for 1 % more at once, oldest first', () => {
    const map = new BoundedMap<number>(1000, 60_000);
    for (let i = 0; i < 1000; i++) map.set(`k${i}`, i);
    map.set('new', -1);
    // 10 evicted (the oldest), one added.
    expect(map.size).toBe(991);
    expect(map.get('k9')).toBeUndefined();
    expect(map.get('k10')).toBe(10);
    expect(map.get('new')).toBe(-1);
    for (let i = 0; i < 20_000; i++) map.set(`more${i}`, i);
    expect(map.size).toBeLessThanOrEqual(1000);
    expect(map.get('more19999')).toBe(19_999);
  });

  it('treats an entry older than the TTL as absent, and stores nothing with a bound of 0', () => {
    const map = new BoundedMap<string>(10, 1000);
    map.set('a', 'x', 0);
    expect(map.get('a', 999)).toBe('x');
    expect(map.get('a', 1000)).toBeUndefined();
    const off = new BoundedMap<string>(0, 1000);
    off.set('a', 'x');
    expect(off.size).toBe(0);
  });
});
