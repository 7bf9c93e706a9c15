import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { verifyWebhook, WebhookVerificationError } from './webhooks.js';

// The same vectors as the reference library: what `standardwebhooks` signs, verifyWebhook
// accepts, and what it refuses the reference refuses too.

/** The example of the Standard Webhooks specification (and the reference libraries' tests). */
const SPEC = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};

const headersOf = (id: string, timestamp: number, signature: string) => ({
  'webhook-id': id,
  'webhook-timestamp': String(timestamp),
  'webhook-signature': signature,
});

async function refusal(call: Promise<unknown>): Promise<string> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WebhookVerificationError);
  return (error as Error).message;
}

describe('verifyWebhook', () => {
  it("accepts the specification's example, as the reference library does", async () => {
    const headers = headersOf(SPEC.id, SPEC.timestamp, SPEC.signature);
    const at = () => SPEC.timestamp * 1000;
    expect(await verifyWebhook(SPEC.secret, headers, SPEC.body, { now: at })).toEqual({ test: 2432232314 });
    expect(new Webhook(SPEC.secret).sign(SPEC.id, new Date(at()), SPEC.body)).toBe(SPEC.signature);
  });

  it('accepts what the reference library signs, in any header form and body form', async () => {
    for (const body of [
      '{"type":"key.created","data":{"name":"ünïcödé ✓"}}',
      '{}',
      `{"pad":"${'x'.repeat(5000)}"}`,
    ]) {
      const secret = `whsec_${randomBytes(32).toString('base64')}`;
      const id = `msg_${randomBytes(16).toString('hex')}`;
      const now = new Date();
      const signature = new Webhook(secret).sign(id, now, body);
      const plain = headersOf(id, Math.floor(now.getTime() / 1000), signature);
      expect(await verifyWebhook(secret, plain, body)).toEqual(JSON.parse(body));
      expect(await verifyWebhook(secret, new Headers(plain), new TextEncoder().encode(body))).toEqual(
        JSON.parse(body),
      );
      const nodeStyle = { ...plain, 'webhook-signature': [signature] };
      expect(await verifyWebhook(secret, nodeStyle, new TextEncoder().encode(body).buffer)).toEqual(
        JSON.parse(body),
      );
      const upper = {
        'Webhook-Id': id,
        'Webhook-Timestamp': plain['webhook-timestamp'],
        'Webhook-Signature': signature,
      };
      expect(await verifyWebhook(secret, upper, body)).toEqual(JSON.parse(body));
    }
  });

  it('accepts one matching signature among several, and one matching secret among several', async () => {
    const oldSecret = `whsec_${randomBytes(32).toString('base64')}`;
    const newSecret = `whsec_${randomBytes(32).toString('base64')}`;
    const now = new Date();
    const body = '{"type":"webhook.test"}';
    const both = `${new Webhook(newSecret).sign('msg_1', now, body)} ${new Webhook(oldSecret).sign('msg_1', now, body)}`;
    const headers = headersOf('msg_1', Math.floor(now.getTime() / 1000), both);
    expect(await verifyWebhook(oldSecret, headers, body)).toEqual({ type: 'webhook.test' });
    expect(await verifyWebhook(newSecret, headers, body)).toEqual({ type: 'webhook.test' });
    const onlyNew = headersOf(
      'msg_1',
      Math.floor(now.getTime() / 1000),
      new Webhook(newSecret).sign('msg_1', now, body),
    );
    expect(await verifyWebhook([oldSecret, newSecret], onlyNew, body)).toEqual({ type: 'webhook.test' });
  });

  it('refuses what the reference library refuses, saying why', async () => {
    const secret = `whsec_${randomBytes(32).toString('base64')}`;
    const now = new Date();
    const ts = Math.floor(now.getTime() / 1000);
    const body = '{"type":"key.deleted"}';
    const signature = new Webhook(secret).sign('msg_2', now, body);
    const cases: [string, Record<string, string>, string, RegExp][] = [
      ['a changed body', headersOf('msg_2', ts, signature), '{"type":"key.created"}', /No signature matches/],
      ['a changed id', headersOf('msg_3', ts, signature), body, /No signature matches/],
      ['a changed timestamp', headersOf('msg_2', ts + 1, signature), body, /No signature matches/],
      [
        'another secret',
        headersOf(
          'msg_2',
          ts,
          new Webhook(`whsec_${randomBytes(32).toString('base64')}`).sign('msg_2', now, body),
        ),
        body,
        /No signature matches/,
      ],
      [
        'an old timestamp',
        headersOf('msg_2', ts - 301, new Webhook(secret).sign('msg_2', new Date((ts - 301) * 1000), body)),
        body,
        /more than 300 seconds/,
      ],
      [
        'a future timestamp',
        headersOf('msg_2', ts + 301, new Webhook(secret).sign('msg_2', new Date((ts + 301) * 1000), body)),
        body,
        /more than 300 seconds/,
      ],
      [
        'a v2 signature only',
        headersOf('msg_2', ts, signature.replace('v1,', 'v2,')),
        body,
        /No signature matches/,
      ],
      ['no signature header', { 'webhook-id': 'msg_2', 'webhook-timestamp': String(ts) }, body, /lacks/],
      ['a timestamp that is not a number', headersOf('msg_2', ts, signature), body, /not a number/],
    ];
    cases[8]![1]['webhook-timestamp'] = 'yesterday';
    for (const [what, headers, sent, why] of cases) {
      expect(await refusal(verifyWebhook(secret, headers, sent)), what).toMatch(why);
      expect(() => new Webhook(secret).verify(sent, headers), what).toThrow();
    }
  });
});
