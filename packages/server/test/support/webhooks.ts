import { Webhook } from 'standardwebhooks';

/** Receivers on 127.0.0.1 over http, opened by the operator; short retries for the suite. */
export const WEBHOOK_ENV = {
  LATCHKEY_WEBHOOK_ALLOW_HTTP: 'true',
  LATCHKEY_WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
  LATCHKEY_WEBHOOK_RETRY_BASE_MS: '50',
  LATCHKEY_WEBHOOK_MAX_ATTEMPTS: '3',
  LATCHKEY_WEBHOOK_TIMEOUT_MS: '800',
  LATCHKEY_WEBHOOK_POLL_MS: '100',
};

/** Verifies a request as a receiver would, with the Standard Webhooks reference library; returns the payload. */
export function verified(secret: string, r: { headers: Record<string, unknown>; body: string }): any {
  const headers = {
    'webhook-id': String(r.headers['webhook-id']),
    'webhook-timestamp': String(r.headers['webhook-timestamp']),
    'webhook-signature': String(r.headers['webhook-signature']),
  };
  return new Webhook(secret).verify(r.body, headers);
}
