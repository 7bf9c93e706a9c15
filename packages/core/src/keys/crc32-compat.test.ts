import { crc32 as zlibCrc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { checksum, crc32, generateKey, inspectKey, keyStart, suppliedKeyProblem } from './key-format.js';

describe('key format against zlib and the shared rules', () => {
  it('computes the same CRC-32 as zlib', () => {
    for (const text of ['', 'lk_', 'lk_abc', 'ünïcode ✓', 'ascii first, then ✓', 'x'.repeat(1000)]) {
      expect(crc32(text)).toBe(zlibCrc32(text));
    }
  });

  it('generates lk_ + 32 base62 + a 6 character checksum that inspects as generated', () => {
    const key = generateKey('lk_');
    expect(key).toMatch(/^lk_[0-9A-Za-z]{38}$/);
    expect(key.slice(35)).toBe(checksum('lk_', key.slice(3, 35)));
    expect(inspectKey(key, 'lk_')).toEqual({ kind: 'generated' });
    expect(new Set(Array.from({ length: 50 }, () => generateKey('lk_'))).size).toBe(50);
  });

  it('refuses a key with the prefix and a wrong checksum, and short or odd supplied keys', () => {
    const key = generateKey('lk_');
    const broken = `${key.slice(0, -1)}${key.endsWith('0') ? '1' : '0'}`;
    expect(inspectKey(broken, 'lk_')).toEqual({ kind: 'invalid', reason: 'bad_checksum' });
    expect(suppliedKeyProblem('short', 'lk_')).toBe('must be at least 32 characters');
    expect(suppliedKeyProblem(`${'a'.repeat(32)} space`, 'lk_')).toMatch(/may hold only/);
    expect(suppliedKeyProblem('restored.key-0123456789abcdef0123456789', 'lk_')).toBeUndefined();
  });

  it('shows the prefix and four characters of a generated key, four of a supplied one', () => {
    expect(keyStart('lk_ABCDEFG', 'lk_')).toBe('lk_ABCD');
    expect(keyStart('restored-key', 'lk_')).toBe('rest');
  });
});
