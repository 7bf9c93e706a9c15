// Pure functions over the shape of a key: `lk_` + 32 random base62 + 6 base62 CRC32.
// Browser-safe (Web Crypto, no Node modules): the server and the mock share them.

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
export const RANDOM_LENGTH = 32;
export const CHECKSUM_LENGTH = 6;
export const MIN_SUPPLIED_KEY_LENGTH = 32;
export const MAX_KEY_LENGTH = 256;
const SUPPLIED_KEY = /^[A-Za-z0-9_.~+/=-]+$/;

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();
const UTF8 = new TextEncoder();

const crcStep = (crc: number, byte: number) => (CRC_TABLE[(crc ^ byte) & 0xff] as number) ^ (crc >>> 8);

/** CRC-32 (IEEE, as zlib computes it) of a string's UTF-8 bytes. */
export function crc32(text: string): number {
  let crc = 0xffffffff;
  // Keys are ASCII, whose characters are their own UTF-8 bytes: no encoding on the hot path.
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0x7f) {
      crc = 0xffffffff;
      for (const byte of UTF8.encode(text)) crc = crcStep(crc, byte);
      break;
    }
    crc = crcStep(crc, code);
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** Random base62 characters from the platform's CSPRNG, without modulo bias. */
export function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    // Web Crypto gives at most 65,536 bytes per call.
    const chunk = Math.min(65_536, (length - out.length) * 2);
    for (const byte of globalThis.crypto.getRandomValues(new Uint8Array(chunk))) {
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

/** A new key: prefix + 32 random base62 + 6 base62 CRC32. */
export function generateKey(prefix: string): string {
  const random = randomBase62(RANDOM_LENGTH);
  return `${prefix}${random}${checksum(prefix, random)}`;
}

/** What a presented key is, decided without looking anything up. */
export type KeyShape =
  | { kind: 'generated' }
  | { kind: 'supplied' }
  | { kind: 'invalid'; reason: 'too_short' | 'too_long' | 'bad_characters' | 'bad_format' | 'bad_checksum' };

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
    if (checksum(prefix, rest.slice(0, RANDOM_LENGTH)) !== rest.slice(RANDOM_LENGTH)) {
      return { kind: 'invalid', reason: 'bad_checksum' };
    }
    return { kind: 'generated' };
  }
  if (value.length < MIN_SUPPLIED_KEY_LENGTH) return { kind: 'invalid', reason: 'too_short' };
  if (!SUPPLIED_KEY.test(value)) return { kind: 'invalid', reason: 'bad_characters' };
  return { kind: 'supplied' };
}

/** Why a key supplied by a caller cannot be stored, or undefined when it can. */
export function suppliedKeyProblem(value: string, prefix: string): string | undefined {
  const shape = inspectKey(value, prefix);
  if (shape.kind !== 'invalid') return undefined;
  switch (shape.reason) {
    case 'bad_format':
    case 'bad_checksum':
      return `starts with "${prefix}" but is not a well-formed ${prefix} key (wrong length or checksum)`;
    case 'too_short':
      return `must be at least ${MIN_SUPPLIED_KEY_LENGTH} characters`;
    case 'too_long':
      return `must be at most ${MAX_KEY_LENGTH} characters`;
    case 'bad_characters':
      return 'may hold only letters, digits and _ . ~ + / = -';
  }
}

/** The part of a key shown in lists: the prefix and four characters, or four for a supplied key. */
export function keyStart(value: string, prefix: string): string {
  return value.startsWith(prefix) ? value.slice(0, prefix.length + 4) : value.slice(0, 4);
}
