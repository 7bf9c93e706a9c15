// Secrets and password hashing with Web Crypto, for hosts without Node's crypto (the mock
// in a browser). Keys are still stored only as keyed digests, and passwords only as salted
// PBKDF2 hashes, so that the mock behaves like the server also in what it keeps.
import type { PasswordHasher, SecretBox } from '../ports.js';

const encoder = new TextEncoder();

function toHex(bytes: ArrayBuffer): string {
  return [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

function fromHex(hex: string): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

const toBase64Url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');

function fromBase64Url(text: string): Uint8Array<ArrayBuffer> | undefined {
  try {
    const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
    return Uint8Array.from(binary, (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}

/**
 * Fresh random secrets for one mock: an HMAC key for digests, an AES-GCM key for sealing,
 * and an HS256 key for login JWTs.
 *
 * @example
 * ```ts
 * const secrets = createWebCryptoSecrets();
 * const digest = await secrets.digest('lk_...');
 * ```
 */
export function createWebCryptoSecrets(): SecretBox {
  const subtle = globalThis.crypto.subtle;
  const random = (n: number) => globalThis.crypto.getRandomValues(new Uint8Array(n));
  const hmacKey = subtle.importKey('raw', random(32), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const sealKey = subtle.importKey('raw', random(32), { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']);
  return {
    pepperId: toHex(random(6).buffer),
    jwtKey: random(32),
    async digest(value) {
      return toHex(await subtle.sign('HMAC', await hmacKey, encoder.encode(value)));
    },
    async seal(plaintext) {
      const iv = random(12);
      const data = await subtle.encrypt({ name: 'AES-GCM', iv }, await sealKey, encoder.encode(plaintext));
      return `v1.${toBase64Url(iv)}.${toBase64Url(new Uint8Array(data))}`;
    },
    async unseal(sealed) {
      const [version, iv, data] = sealed.split('.');
      const ivBytes = iv ? fromBase64Url(iv) : undefined;
      const dataBytes = data ? fromBase64Url(data) : undefined;
      if (version !== 'v1' || !ivBytes || !dataBytes) return undefined;
      try {
        const plain = await subtle.decrypt({ name: 'AES-GCM', iv: ivBytes }, await sealKey, dataBytes);
        return new TextDecoder().decode(plain);
      } catch {
        return undefined;
      }
    },
  };
}

const ITERATIONS = 1000;

async function pbkdf2(password: string, salt: Uint8Array<ArrayBuffer>): Promise<string> {
  const material = await globalThis.crypto.subtle.importKey(
    'raw',
    encoder.encode(password),
    'PBKDF2',
    false,
    ['deriveBits'],
  );
  const bits = await globalThis.crypto.subtle.deriveBits(
    { name: 'PBKDF2', hash: 'SHA-256', salt, iterations: ITERATIONS },
    material,
    256,
  );
  return toHex(bits);
}

/**
 * Salted PBKDF2-SHA256 with few iterations: a test double's hash, quick in a browser. The
 * server hashes with argon2id.
 *
 * @example
 * ```ts
 * const hash = await WEB_CRYPTO_PASSWORDS.hash('correct horse battery staple');
 * ```
 */
export const WEB_CRYPTO_PASSWORDS: PasswordHasher = {
  async hash(password) {
    const salt = globalThis.crypto.getRandomValues(new Uint8Array(16));
    return `pbkdf2$${toHex(salt.buffer)}$${await pbkdf2(password, salt)}`;
  },
  async verify(hash, password) {
    const [scheme, salt, expected] = (hash ?? 'pbkdf2$00$').split('$');
    const actual = await pbkdf2(password, fromHex(salt ?? '00'));
    return scheme === 'pbkdf2' && hash !== null && hash !== undefined && actual === expected;
  },
};
