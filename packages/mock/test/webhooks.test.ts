// Webhooks in the mock: the same rules as the server, sent with fetch to URLs msw intercepts,
// signed so that the Standard Webhooks reference library and the SDK verify them, with the
// delivery log, retries, 410, the URL checks and expiry notices on the mock's clock.
import { verifyWebhook } from '@latchkey/client';
import { ContractValidator } from '@latchkey/core';
import { HttpResponse, http } from 'msw';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setupLatchkeyServer } from '../src/node.js';

const baseUrl = 'http://webhooks-mock.test';
const DAY = 86_400_000;
let offset = 0;
const { server, mock } = setupLatchkeyServer({
  baseUrl,
  seed: { users: [{ username: 'root', is_superuser: true }], keys: [{ owner: 'root', name: 'root key' }] },
  config: { webhookRetryBaseMs: 20, webhookMaxAttempts: 3 },
  clock: () => Date.now() + offset,
});
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => {
  server.resetHandlers();
  mock.reset();
  offset = 0;
});
afterAll(() => server.close());

const validator = new ContractValidator();
const call = async (method: string, path: string, json?: unknown) => {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { 'x-api-key': mock.seeded.keys['root key']!.key, 'content-type': 'application/json' },
    ...(json === undefined ? {} : { body: JSON.stringify(json) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
};

/** A receiver at https://hooks.test/in, through msw; answers with `answer(n)`. */
function receiver(answer: (n: number) => number = () => 204) {
  const got: { headers: Headers; body: string }[] = [];
  server.use(
    http.post('https://hooks.test/in', async ({ request }) => {
      got.push({ headers: request.headers, body: await request.text() });
      return new HttpResponse(null, { status: answer(got.length) });
    }),
  );
  return got;
}

const headersOf = (h: Headers) => Object.fromEntries(h.entries());

describe('webhooks in the mock', () => {
  it('delivers to an msw-intercepted URL, signed, and records the delivery', async () => {
    const got = receiver();
    const hook = await call('POST', '/api/v1/webhooks', { name: 'msw', url: 'https://hooks.test/in' });
    expect(hook.status).toBe(201);
    const created = await call('POST', '/api/v1/keys', { name: 'seen by the mock webhook' });
    await mock.flushWebhooks();
    expect(got).toHaveLength(1);
    const request = got[0]!;
    const payload = new Webhook(hook.body.secret).verify(request.body, headersOf(request.headers)) as any;
    expect(payload).toMatchObject({
      type: 'key.created',
      data: { id: created.body.id, start: created.body.start },
    });
    expect(await verifyWebhook(hook.body.secret, request.headers, request.body)).toEqual(payload);
    expect(validator.checkWebhookPayload(payload.type, payload)).toEqual([]);
    expect(request.body).not.toContain(created.body.key);
    const log = await call('GET', `/api/v1/webhooks/${hook.body.id}/deliveries`);
    expect(log.body.results[0]).toMatchObject({
      status: 'delivered',
      event_type: 'key.created',
      attempts: [{ status_code: 204, outcome: 'delivered' }],
    });
  });

  it('retries after a 500, and a 410 switches the webhook off', async () => {
    const got = receiver((n) => (n === 1 ? 500 : n === 2 ? 200 : 410));
    const hook = await call('POST', '/api/v1/webhooks', { name: 'msw', url: 'https://hooks.test/in' });
    await call('POST', '/api/v1/keys', { name: 'retried' });
    const until = Date.now() + 5000;
    while (got.length < 2 && Date.now() < until) await mock.flushWebhooks();
    const [first] = (await call('GET', `/api/v1/webhooks/${hook.body.id}/deliveries`)).body.results;
    expect(first.attempts.map((a: any) => a.status_code)).toEqual([500, 200]);
    await call('POST', '/api/v1/keys', { name: 'gone' });
    await mock.flushWebhooks();
    const after = await call('GET', `/api/v1/webhooks/${hook.body.id}`);
    expect(after.body).toMatchObject({ is_active: false, disabled_reason: expect.stringMatching(/410/) });
  });

  it('refuses the same targets as the server, without resolving names', async () => {
    for (const url of [
      'https://127.0.0.1/',
      'https://[::ffff:127.0.0.1]/',
      'https://2130706433/',
      'https://169.254.169.254/',
      'https://localhost/',
      'file:///etc/passwd',
      'http://hooks.test/in',
    ]) {
      const r = await call('POST', '/api/v1/webhooks', { name: 'x', url });
      expect(r.status, url).toBe(400);
      expect(r.body.code).toBe('WEBHOOK_URL_NOT_ALLOWED');
    }
  });

  it('sends expiry notices on the mock clock, once each', async () => {
    const got = receiver();
    const hook = await call('POST', '/api/v1/webhooks', {
      name: 'expiry',
      url: 'https://hooks.test/in',
      events: ['key.expiring', 'key.expired'],
    });
    await call('POST', '/api/v1/keys', {
      name: 'soon',
      expires_at: new Date(Date.now() + 3 * DAY).toISOString(),
    });
    await mock.flushWebhooks();
    offset = 3 * DAY + 60_000;
    await mock.flushWebhooks();
    await mock.flushWebhooks();
    const types = got.map((r) => {
      const { type, data } = new Webhook(hook.body.secret).verify(r.body, headersOf(r.headers)) as any;
      return `${type}${data.threshold_days ? ` ${data.threshold_days}d` : ''}`;
    });
    expect(types).toEqual(['key.expiring 7d', 'key.expired']);
  });
});
