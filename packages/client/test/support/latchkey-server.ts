import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createApp, type LatchkeyApp, loadConfig } from '@latchkey/server';

export const ADMIN = { username: 'admin', password: 'a-long-test-password-42' };

/** What the test server answers instead of the app for the next requests. */
export interface RateLimitScript {
  /** How many requests get the 429. */
  times: number;
  /** Retry-After, in seconds. */
  retryAfter: number;
  limit?: number;
}

export interface LatchkeyTestServer {
  baseUrl: string;
  app: LatchkeyApp;
  /** Every request that reached the server, in order: method and path (without the query). */
  hits: { method: string; path: string; headers: IncomingMessage['headers'] }[];
  /** Answers the next `times` requests 429 before they reach the app, then lets them through. */
  rateLimitNext(script: RateLimitScript): void;
  close(): Promise<void>;
}

function answer429(res: ServerResponse, script: RateLimitScript): void {
  const limit = script.limit ?? 100;
  const reset = Math.ceil(Date.now() / 1000) + script.retryAfter;
  res.writeHead(429, {
    'Content-Type': 'application/problem+json',
    'Retry-After': String(script.retryAfter),
    'X-RateLimit-Limit': String(limit),
    'X-RateLimit-Remaining': '0',
    'X-RateLimit-Reset': String(reset),
    RateLimit: `"default";r=0;t=${script.retryAfter}`,
    'RateLimit-Policy': `"default";q=${limit};w=60`,
  });
  res.end(
    JSON.stringify({
      type: '/docs/errors/RATE_LIMITED',
      title: 'Too many requests',
      status: 429,
      code: 'RATE_LIMITED',
      detail: `Rate limit exceeded; try again in ${script.retryAfter} seconds.`,
      retryAfter: script.retryAfter,
    }),
  );
}

/**
 * Starts the real Latchkey app (SQLite in a fresh temporary folder, a superuser ADMIN) on
 * a free port, behind a thin gate that records each request and can answer 429 first.
 */
export async function startLatchkeyServer(env: Record<string, string> = {}): Promise<LatchkeyTestServer> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'latchkey-client-test-'));
  const config = loadConfig({
    LATCHKEY_DATA_DIR: dataDir,
    LATCHKEY_LOG_LEVEL: 'silent',
    LATCHKEY_ADMIN_USERNAME: ADMIN.username,
    LATCHKEY_ADMIN_PASSWORD: ADMIN.password,
    ...env,
  });
  const app = await createApp(config);
  const handle = app.koa.callback();
  const hits: LatchkeyTestServer['hits'] = [];
  const scripts: RateLimitScript[] = [];

  const server = createServer((req, res) => {
    hits.push({
      method: req.method ?? 'GET',
      path: new URL(req.url ?? '/', 'http://x').pathname,
      headers: req.headers,
    });
    const script = scripts[0];
    if (script) {
      if (--script.times <= 0) scripts.shift();
      answer429(res, script);
      return;
    }
    handle(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    baseUrl: `http://127.0.0.1:${port}`,
    app,
    hits,
    rateLimitNext: (script) => scripts.push({ ...script }),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await app.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
