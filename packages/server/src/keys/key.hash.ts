import { createHmac } from 'node:crypto';

/** The stored form of a key or session secret: HMAC-SHA256 under the server pepper, hex. */
export function digestSecret(pepper: Buffer, value: string): string {
  return createHmac('sha256', pepper).update(value, 'utf8').digest('hex');
}
