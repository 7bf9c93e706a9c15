import { describe, expect, it } from 'vitest';
import { checksum, generateKey, inspectKey, keyStart, randomBase62 } from './key-format.js';

describe('key format', () => {
  it('generates lk_ + 32 base62 + a 6 character checksum that verifies', () => {
    const key = generateKey('lk_');
    expect(key).toMatch(/^lk_[0-9A-Za-z]{38}$/);
    expect(key.slice(-6)).toBe(checksum('lk_', key.slice(3, 35)));
    expect(inspectKey(key, 'lk_')).toEqual({ kind: 'generated' });
  });

  it('honours another prefix', () => {
    const key = generateKey('argus_');
    expect(key).toMatch(/^argus_[0-9A-Za-z]{38}$/);
    expect(inspectKey(key, 'argus_').kind).toBe('generated');
  });

  it('never repeats and uses the whole alphabet evenly', () => {
    const keys = new Set(Array.from({ length: 2000 }, () => generateKey('lk_')));
    expect(keys.size).toBe(2000);
    const counts = new Map<string, number>();
    for (const ch of randomBase62(62_000)) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    expect(counts.size).toBe(62);
    // Each character is expected 1000 times; modulo bias would push the first ones far above.
    for (const n of counts.values()) expect(n).toBeGreaterThan(800);
    for (const n of counts.values()) expect(n).toBeLessThan(1200);
  });

  it('refuses a key whose checksum or shape is wrong', () => {
    const key = generateKey('lk_');
    const last = key.at(-1) === 'A' ? 'B' : 'A';
    expect(inspectKey(`${key.slice(0, -1)}${last}`, 'lk_')).toEqual({
      kind: 'invalid',
      reason: 'bad_checksum',
    });
    const body = key.at(5) === 'A' ? 'B' : 'A';
    expect(inspectKey(`${key.slice(0, 5)}${body}${key.slice(6)}`, 'lk_').kind).toBe('invalid');
    expect(inspectKey(`${key}x`, 'lk_')).toEqual({ kind: 'invalid', reason: 'bad_format' });
    expect(inspectKey('lk_short', 'lk_')).toEqual({ kind: 'invalid', reason: 'bad_format' });
    expect(inspectKey(`lk_${'!'.repeat(38)}`, 'lk_')).toEqual({ kind: 'invalid', reason: 'bad_format' });
  });

  it('accepts supplied keys of at least 32 safe characters', () => {
    expect(inspectKey('d2f763479f703d80de0ec15254237bc651f9cdc0', 'lk_')).toEqual({ kind: 'supplied' });
    expect(inspectKey('a'.repeat(31), 'lk_')).toEqual({ kind: 'invalid', reason: 'too_short' });
    expect(inspectKey(`${'a'.repeat(31)} `, 'lk_')).toEqual({ kind: 'invalid', reason: 'bad_characters' });
    expect(inspectKey('a'.repeat(257), 'lk_')).toEqual({ kind: 'invalid', reason: 'too_long' });
  });

  it('shows only the start of a key', () => {
    expect(keyStart('lk_AbCdEfGh', 'lk_')).toBe('lk_AbCd');
    expect(keyStart('d2f763479f703d80de0ec15254237bc651f9cdc0', 'lk_')).toBe('d2f7');
  });
});
