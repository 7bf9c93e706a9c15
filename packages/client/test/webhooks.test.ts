import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLatchkeyClient, type LatchkeyClient, verifyWebhook, type WebhookEvent } from '../src/index.js';
import { ADMIN, type LatchkeyTestServer, startLatchkeyServer } from './support/latchkey-server.js';

// Webhooks a real server sends, managed through the SDK and verified by verifyWebhook and by
// the reference library alike.

let server: LatchkeyTestServer;
let admin: LatchkeyClient;
const received: { headers: IncomingHttpHeaders; body: string }[] = [];
const receiver = createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (c) => {
    body += c;
  });
  req.on('end', () => {
    received.push({ headers: req.headers, body });
    res.writeHead(204).end();
  });
});

beforeAll(async () => {
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  server = await startLatchkeyServer({
    LATCHKEY_WEBHOOK_ALLOW_HTTP: 'true',
    LATCHKEY_WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
    LATCHKEY_WEBHOOK_POLL_MS: '100',
  });
  admin = createLatchkeyClient({ baseUrl: server.baseUrl, credentials: { login: ADMIN } });
});

afterAll(async () => {
  await server?.close();
  receiver.closeAllConnections();
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
});

async function next(count: number): Promise<{ headers: IncomingHttpHeaders; body: string }> {
  const until = Date.now() + 10_000;
  while (received.length < count) {
    if (Date.now() > until) throw new Error(`no webhook request #${count}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return received[count - 1]!;
}

it('verifies what the server sends, typed by event, as the reference library does', async () => {
  const { port } = receiver.address() as AddressInfo;
  const { data: hook } = await admin.createWebhook({
    body: { name: 'sdk', url: `http://127.0.0.1:${port}/in`, events: ['key.created'] },
  });
  const { data: created } = await admin.createKey({ body: { name: 'seen by a webhook' } });
  const request = await next(1);
  const event: WebhookEvent = await verifyWebhook(hook.secret, request.headers, request.body);
  expect(event).toEqual(
    new Webhook(hook.secret).verify(request.body, request.headers as Record<string, string>),
  );
  if (event.type !== 'key.created') throw new Error(`unexpected ${event.type}`);
  expect(event.data).toMatchObject({ id: created.id, name: 'seen by a webhook', start: created.start });
  expect(request.body).not.toContain(created.key);

  // During a rotation's grace, both secrets verify.
  const { data: rotated } = await admin.rotateWebhookSecret({
    path: { webhook_id: hook.id },
    body: { grace_seconds: 60 },
  });
  await admin.createKey({ body: { name: 'after rotation' } });
  const during = await next(2);
  for (const secret of [hook.secret, rotated.secret]) {
    expect((await verifyWebhook(secret, during.headers, during.body)).type).toBe('key.created');
    expect(new Webhook(secret).verify(during.body, during.headers as Record<string, string>)).toBeTruthy();
  }

  const { data: deliveries } = await admin.listWebhookDeliveries({ path: { webhook_id: hook.id } });
  expect(deliveries.results.map((d) => d.status)).toEqual(['delivered', 'delivered']);
});
