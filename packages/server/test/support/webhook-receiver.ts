import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request a receiver got. */
export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The status the receiver answered (undefined while it holds the answer). */
  status: number | undefined;
}

/** What the receiver answers a request: a status, or `hold` (never answer). */
export type Answer =
  | { status: number; body?: string; headers?: Record<string, string>; delayMs?: number }
  | 'hold';

export interface Receiver {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  /** A URL on this receiver. */
  url(path?: string): string;
  received: Received[];
  /** Sets how it answers; `answer(request, n)` gets the 1-based number of the request. */
  answer(fn: (request: Received, n: number) => Answer): void;
  /** The `webhook-id`s of requests answered with a 2xx, in order. */
  deliveredIds(): string[];
  /** Waits until `predicate` holds for what was received; fails after `timeoutMs`. */
  waitFor(predicate: (received: Received[]) => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** A real local HTTP receiver of webhooks; answers 204 unless told otherwise. */
export async function startReceiver(): Promise<Receiver> {
  const received: Received[] = [];
  let answerWith: (request: Received, n: number) => Answer = () => ({ status: 204 });
  const held = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const request: Received = {
        path: req.url ?? '/',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        status: undefined,
      };
      received.push(request);
      const answer = answerWith(request, received.length);
      if (answer === 'hold') {
        held.add(res);
        res.once('close', () => held.delete(res));
        return;
      }
      const send = () => {
        request.status = answer.status;
        res.writeHead(answer.status, answer.headers);
        res.end(answer.body ?? '');
      };
      if (answer.delayMs) setTimeout(send, answer.delayMs);
      else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    url: (path = '/hook') => `${origin}${path}`,
    received,
    answer(fn) {
      answerWith = fn;
    },
    deliveredIds: () =>
      received
        .filter((r) => r.status !== undefined && r.status >= 200 && r.status < 300)
        .map((r) => String(r.headers['webhook-id'])),
    async waitFor(predicate, timeoutMs = 15_000) {
      const until = Date.now() + timeoutMs;
      while (!predicate(received)) {
        if (Date.now() > until) {
          throw new Error(
            `the receiver did not get what was expected within ${timeoutMs} ms; it got ${received.length} request(s): ${received
              .map((r) => `${r.headers['webhook-id']} ${JSON.parse(r.body || '{}').type} → ${r.status}`)
              .join('; ')}`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async close() {
      for (const res of held) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The event types of what a receiver got, in order. */
export const typesOf = (received: Received[]) => received.map((r) => JSON.parse(r.body).type as string);
