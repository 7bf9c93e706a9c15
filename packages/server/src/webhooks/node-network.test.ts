import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeWebhookNetwork } from './node-network.js';

describe('nodeWebhookNetwork', () => {
  let server: Server;
  let port: number;
  const seen: { host: string | undefined; headers: IncomingHttpHeaders; body: string }[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        seen.push({ host: req.headers.host, headers: req.headers, body });
        if (req.url === '/redirect') {
          res.writeHead(307, { location: `http://127.0.0.1:${port}/elsewhere` }).end();
        } else if (req.url === '/big') {
          res.writeHead(200).end('y'.repeat(1_000_000));
        } else {
          res.writeHead(202).end('accepted');
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const network = nodeWebhookNetwork({ connectTimeoutMs: 1000 });
  const send = (path: string, host = 'rebind.invalid') =>
    network.send({
      url: `http://${host}:${port}${path}`,
      host,
      address: '127.0.0.1',
      headers: { 'content-type': 'application/json', 'webhook-id': 'msg_1' },
      body: '{"type":"webhook.test"}',
      timeoutMs: 2000,
    });

  it('connects to the address checked before, never resolving the name again (no DNS rebinding)', async () => {
    // rebind.invalid resolves nowhere: the request can only arrive through the pinned address.
    const answer = await send('/in');
    expect(answer).toMatchObject({ ok: true, status: 202, body: 'accepted', truncated: false });
    expect(seen.at(-1)).toMatchObject({ host: `rebind.invalid:${port}`, body: '{"type":"webhook.test"}' });
    expect(seen.at(-1)?.headers['webhook-id']).toBe('msg_1');
  });

  it('follows no redirect', async () => {
    const before = seen.length;
    const answer = await send('/redirect');
    expect(answer).toMatchObject({ ok: true, status: 307 });
    expect(seen.length).toBe(before + 1);
  });

  it('reads only the start of a long answer', async () => {
    const answer = await send('/big');
    expect(answer.ok && answer.truncated).toBe(true);
    expect(answer.ok && answer.body.length).toBe(4096);
  });

  it('reports a refused connection and a timeout as no answer', async () => {
    const closed = await nodeWebhookNetwork({ connectTimeoutMs: 1000 }).send({
      url: 'http://127.0.0.1:9/',
      host: '127.0.0.1',
      address: '127.0.0.1',
      headers: {},
      body: '{}',
      timeoutMs: 1000,
    });
    expect(closed).toMatchObject({
      ok: false,
      timedOut: false,
      error: expect.stringMatching(/ECONNREFUSED/),
    });
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const slow = await network.send({
        url: `http://127.0.0.1:${(silent.address() as AddressInfo).port}/`,
        host: '127.0.0.1',
        address: '127.0.0.1',
        headers: {},
        body: '{}',
        timeoutMs: 200,
      });
      expect(slow).toMatchObject({ ok: false, timedOut: true, error: 'no answer within 200 ms' });
    } finally {
      silent.closeAllConnections();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('resolves host names with the system resolver', async () => {
    expect(await network.resolve?.('localhost')).toContain('127.0.0.1');
    await expect(network.resolve?.('nowhere.invalid')).rejects.toThrow(/ENOTFOUND|EAI_AGAIN/);
  });
});
