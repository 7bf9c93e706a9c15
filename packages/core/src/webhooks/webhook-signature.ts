// Signing to the Standard Webhooks specification with Web Crypto, so that the server and
// the browser-safe mock sign alike: `webhook-signature` is `v1,` and the base64 HMAC-SHA256
// of `<webhook-id>.<webhook-timestamp>.<body>` under the secret's bytes (the base64 after
// `whsec_`); several signatures are separated by spaces.

/** The prefix of every signing secret. */
export const SECRET_PREFIX = 'whsec_';
/** Random bytes in a new secret (the specification asks for 24 to 64). */
export const SECRET_BYTES = 32;

const encoder = new TextEncoder();

function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array | undefined {
  try {
    const binary = atob(text);
    const out = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
    return out;
  } catch {
    return undefined;
  }
}

/** A new signing secret: `whsec_` and the base64 of 32 random bytes from the CSPRNG. */
export function generateWebhookSecret(): string {
  return `${SECRET_PREFIX}${toBase64(globalThis.crypto.getRandomValues(new Uint8Array(SECRET_BYTES)))}`;
}

/** The key bytes of a secret, or undefined when it is not a `whsec_` secret. */
export function secretBytes(secret: string): Uint8Array | undefined {
  if (!secret.startsWith(SECRET_PREFIX)) return undefined;
  const bytes = fromBase64(secret.slice(SECRET_PREFIX.length));
  return bytes && bytes.length >= 24 && bytes.length <= 64 ? bytes : undefined;
}

/** The base64 HMAC-SHA256 of `id.timestamp.body` under the secret. */
export async function signature(
  secret: string,
  id: string,
  timestamp: number,
  body: string,
): Promise<string> {
  const bytes = secretBytes(secret);
  if (!bytes) throw new TypeError('not a whsec_ signing secret');
  const key = await globalThis.crypto.subtle.importKey(
    'raw',
    bytes as Uint8Array<ArrayBuffer>,
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  const mac = await globalThis.crypto.subtle.sign('HMAC', key, encoder.encode(`${id}.${timestamp}.${body}`));
  return toBase64(new Uint8Array(mac));
}

/**
 * The three Standard Webhooks headers of one attempt: the message id, the time of sending in
 * seconds, and a `v1` signature per secret (the current one first, then one still in its
 * grace period after a rotation).
 */
export async function signatureHeaders(
  secrets: readonly string[],
  id: string,
  timestamp: number,
  body: string,
): Promise<Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string>> {
  const signatures = await Promise.all(secrets.map((s) => signature(s, id, timestamp, body)));
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signatures.map((s) => `v1,${s}`).join(' '),
  };
}
