// Verifying the webhooks Latchkey sends, for receivers in Node and browsers alike: the
// Standard Webhooks signature (`v1,` and the base64 HMAC-SHA256 of `id.timestamp.body`) with
// Web Crypto, a timestamp close to the receiver's clock, and the typed event.
import type { WebhookEvent } from './generated/types.gen.js';

/** Thrown by {@link verifyWebhook} when a request is not a genuine, fresh Latchkey event; the message says why. */
export class WebhookVerificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookVerificationError';
  }
}

/** Request headers as Fetch (`Headers`), Node (`IncomingMessage.headers`) or a plain object give them. */
export type WebhookHeaders =
  | { get(name: string): string | null }
  | Readonly<Record<string, string | readonly string[] | undefined>>;

export interface VerifyWebhookOptions {
  /** How far `webhook-timestamp` may be from the clock, in seconds; 300 by default. */
  toleranceSeconds?: number;
  /** The clock in milliseconds since the epoch; `Date.now` by default. */
  now?: () => number;
}

const SECRET_PREFIX = 'whsec_';
const encoder = new TextEncoder();

function header(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof (headers as { get?: unknown }).get === 'function') {
    return (headers as { get(name: string): string | null }).get(name) ?? undefined;
  }
  const record = headers as Readonly<Record<string, string | readonly string[] | undefined>>;
  for (const [key, value] of Object.entries(record)) {
    if (key.toLowerCase() !== name) continue;
    return Array.isArray(value) ? value.join(', ') : (value as string | undefined);
  }
  return undefined;
}

function fromBase64(text: string): Uint8Array | undefined {
  try {
    const binary = atob(text);
    return Uint8Array.from(binary, (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}

function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

/** Compares two strings in a time that does not depend on where they differ. */
function sameText(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

async function sign(secret: string, content: Uint8Array): Promise<string> {
  const raw = fromBase64(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret);
  if (!raw?.length) throw new WebhookVerificationError('The secret is not a whsec_ signing secret.');
  const key = await globalThis.crypto.subtle.importKey(
    'raw',
    raw as Uint8Array<ArrayBuffer>,
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  return toBase64(
    new Uint8Array(await globalThis.crypto.subtle.sign('HMAC', key, content as Uint8Array<ArrayBuffer>)),
  );
}

/**
 * Verifies a webhook request from Latchkey and returns its event, typed by `type`. Pass the
 * raw body exactly as received (a string or bytes; never an object parsed and serialised
 * again) and the request's headers. The request is genuine when one `v1` signature of
 * `webhook-signature` matches one of the secrets (give the old and the new one while a
 * rotation's grace period runs), and fresh when `webhook-timestamp` is within five minutes of
 * the clock. Deduplicate by `webhook-id`: a retry carries the same one.
 *
 * @throws {WebhookVerificationError} naming what is missing, stale or wrong.
 * @example
 * ```ts
 * import { verifyWebhook } from '@latchkey/client';
 *
 * const event = await verifyWebhook(process.env.LATCHKEY_WEBHOOK_SECRET!, request.headers, await request.text());
 * if (event.type === 'key.expiring') console.log(`${event.data.name} expires ${event.data.expires_at}`);
 * ```
 */
export async function verifyWebhook(
  secret: string | readonly string[],
  headers: WebhookHeaders,
  body: string | Uint8Array | ArrayBuffer,
  options: VerifyWebhookOptions = {},
): Promise<WebhookEvent> {
  const id = header(headers, 'webhook-id');
  const timestamp = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (!id || !timestamp || !signatures) {
    throw new WebhookVerificationError(
      'The request lacks a webhook-id, webhook-timestamp or webhook-signature header.',
    );
  }
  if (!/^\d{1,15}$/.test(timestamp)) {
    throw new WebhookVerificationError('webhook-timestamp is not a number of seconds.');
  }
  const tolerance = options.toleranceSeconds ?? 300;
  const now = Math.floor((options.now ?? Date.now)() / 1000);
  if (Math.abs(now - Number(timestamp)) > tolerance) {
    throw new WebhookVerificationError(
      `webhook-timestamp is more than ${tolerance} seconds from this clock: a replay, or a clock that is wrong.`,
    );
  }
  const bytes =
    typeof body === 'string'
      ? encoder.encode(body)
      : body instanceof Uint8Array
        ? body
        : new Uint8Array(body);
  const signed = new Uint8Array([...encoder.encode(`${id}.${timestamp}.`), ...bytes]);
  const given = signatures
    .split(' ')
    .filter((s) => s.startsWith('v1,'))
    .map((s) => s.slice(3));
  for (const one of typeof secret === 'string' ? [secret] : secret) {
    const expected = await sign(one, signed);
    if (given.some((g) => sameText(g, expected))) {
      try {
        return JSON.parse(new TextDecoder().decode(bytes)) as WebhookEvent;
      } catch {
        throw new WebhookVerificationError('The body is signed but is not JSON.');
      }
    }
  }
  throw new WebhookVerificationError(
    'No signature matches: the secret is wrong, or the body or headers changed.',
  );
}
