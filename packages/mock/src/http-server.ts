import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiError, corsPolicy, DEFAULT_RULES, stripMappedV4, toProblem } from '@latchkey/core';
import { applyCors } from './http/cors.js';
import { createLatchkeyMock, type LatchkeyMock, type LatchkeyMockOptions } from './mock.js';

/**
 * Options of {@link startMockServer}.
 *
 * @example
 * ```ts
 * const options: MockServerOptions = { port: 4010, host: '0.0.0.0', config: { rateLimit: 5 } };
 * ```
 */
export interface MockServerOptions extends Omit<LatchkeyMockOptions, 'baseUrl' | 'clientIp'> {
  /** Port to listen on; 0 for a free one. Default 4010. */
  port?: number;
  /** Address to listen on. Default 127.0.0.1. */
  host?: string;
  /**
   * Origins of browser pages that may call the mock with their credentials, as the server's
   * `LATCHKEY_CORS_ORIGINS`: each exactly `scheme://host[:port]`; `*` is refused. Default none.
   */
  corsOrigins?: string[];
}

/**
 * A running mock HTTP server.
 *
 * @example
 * ```ts
 * const running: RunningMockServer = await startMockServer({ port: 0 });
 * console.log(running.url); // http://127.0.0.1:41234
 * await running.close();
 * ```
 */
export interface RunningMockServer {
  /** Where it answers, for example `http://127.0.0.1:4010`. */
  url: string;
  port: number;
  mock: LatchkeyMock;
  server: Server;
  close(): Promise<void>;
}

async function toRequest(req: IncomingMessage, origin: string): Promise<Request> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  // From the raw headers: Node keeps only the first of repeated Authorization headers, and
  // the core must see every one (two credentials are a 400).
  const headers = new Headers();
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    headers.append(req.rawHeaders[i] as string, req.rawHeaders[i + 1] as string);
  }
  const method = req.method ?? 'GET';
  const body = chunks.length && method !== 'GET' && method !== 'HEAD' ? Buffer.concat(chunks) : undefined;
  return new Request(new URL(req.url ?? '/', origin), { method, headers, body });
}

async function send(res: ServerResponse, response: Response, head: boolean): Promise<void> {
  const cookies = response.headers.getSetCookie();
  for (const [name, value] of response.headers) {
    if (name.toLowerCase() !== 'set-cookie') res.setHeader(name, value);
  }
  if (cookies.length) res.setHeader('Set-Cookie', cookies);
  res.statusCode = response.status;
  const body = head ? undefined : Buffer.from(await response.arrayBuffer());
  res.end(body?.length ? body : undefined);
}

/**
 * Serves the mock over HTTP for consumers that are not JavaScript and for browser pages on
 * other origins (`corsOrigins`, answered as the server answers them): the same handlers and
 * state as the msw mock, the client address taken from the socket. Also run by the
 * `latchkey-mock` command.
 *
 * @example
 * ```ts
 * import { startMockServer } from '@latchkey/mock/server';
 *
 * const running = await startMockServer({ port: 4010, seed: { users: [{ username: 'alice' }] }, config: { rateLimit: 5 } });
 * console.log(`mock Latchkey at ${running.url}`, running.mock.seeded.users.alice);
 * ```
 */
export async function startMockServer(options: MockServerOptions = {}): Promise<RunningMockServer> {
  const host = options.host ?? '127.0.0.1';
  const cors = corsPolicy(
    options.corsOrigins ?? [],
    options.config?.apiKeyHeaders ?? DEFAULT_RULES.apiKeyHeaders,
  );
  let mock: LatchkeyMock | undefined;
  let origin = '';
  const server = createServer((req, res) => {
    if (applyCors(req, res, cors)) return;
    void (async () => {
      const request = await toRequest(req, origin);
      const clientIp = stripMappedV4(req.socket.remoteAddress ?? '127.0.0.1');
      const response =
        (await mock?.handle(request, clientIp)) ??
        Response.json(
          toProblem(
            new ApiError('NOT_FOUND', `Nothing is at ${request.method} ${new URL(request.url).pathname}.`),
            new URL(request.url).pathname,
          ),
          { status: 404, headers: { 'Content-Type': 'application/problem+json' } },
        );
      await send(res, response, req.method === 'HEAD');
    })().catch((err: unknown) => {
      res.statusCode = 500;
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 4010, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  origin = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  mock = createLatchkeyMock({ ...options, baseUrl: origin });
  return {
    url: origin,
    port,
    mock,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
