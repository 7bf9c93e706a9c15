import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';

// Pure functions over the shape of a key: `lk_` + 32 random base62 + 6 base62 CRC32.

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
export const RANDOM_LENGTH = 32;
export const CHECKSUM_LENGTH = 6;
export const MIN_SUPPLIED_KEY_LENGTH = 32;
export const MAX_KEY_LENGTH = 256;
const SUPPLIED_KEY = /^[A-Za-z0-9_.~+/=-]+$/;

/** Random base62 characters from the CSPRNG, without modulo bias. */
export function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      // 248 = 4 * 62: bytes at or above it would favour the first characters.
      if (byte < 248) out += BASE62[byte % 62];
      if (out.length === length) break;
    }
  }
  return out;
}

function toBase62(n: number, width: number): string {
  let out = '';
  let v = n;
  while (v > 0) {
    out = BASE62[v % 62] + out;
    v = Math.floor(v / 62);
  }
  return out.padStart(width, '0');
}

/** The checksum of a key's prefix and random part. */
export function checksum(prefix: string, random: string): string {
  return toBase62(crc32(`${prefix}${random}`), CHECKSUM_LENGTH);
}

export function generateKey(prefix: string): string {
  const random = randomBase62(RANDOM_LENGTH);
  return `${prefix}${random}${checksum(prefix, random)}`;
}

export type KeyShape =
  | { kind: 'generated' }
  | { kind: 'supplied' }
  | { kind: 'invalid'; reason: 'too_short' | 'too_long' | 'bad_characters' | 'bad_checksum' | 'bad_format' };

/**
 * Classifies a presented key without touching storage. A key that starts with the prefix
 * must be a well-formed generated key with a matching checksum; any other key must be a
 * supplied key of at least 32 safe characters.
 */
export function inspectKey(value: string, prefix: string): KeyShape {
  if (value.length > MAX_KEY_LENGTH) return { kind: 'invalid', reason: 'too_long' };
  if (value.startsWith(prefix)) {
    const rest = value.slice(prefix.length);
    if (rest.length !== RANDOM_LENGTH + CHECKSUM_LENGTH || !/^[0-9A-Za-z]+$/.test(rest)) {
      return { kind: 'invalid', reason: 'bad_format' };
    }
    const random = rest.slice(0, RANDOM_LENGTH);
    if (checksum(prefix, random) !== rest.slice(RANDOM_LENGTH))
      return { kind: 'invalid', reason: 'bad_checksum' };
    return { kind: 'generated' };
  }
  if (value.length < MIN_SUPPLIED_KEY_LENGTH) return { kind: 'invalid', reason: 'too_short' };
  if (!SUPPLIED_KEY.test(value)) return { kind: 'invalid', reason: 'bad_characters' };
  return { kind: 'supplied' };
}

/** The part of a key shown in lists: the prefix and four characters, or four for a supplied key. */
export function keyStart(value: string, prefix: string): string {
  return value.startsWith(prefix) ? value.slice(0, prefix.length + 4) : value.slice(0, 4);
}
