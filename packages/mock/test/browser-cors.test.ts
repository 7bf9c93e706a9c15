// A browser app on another origin, in headless Chromium: a page served from another local port
// runs an esbuild bundle of the real @latchkey/client against the real server and against the
// mock HTTP server, each started with that page's origin in its CORS list. The page logs in
// with the session cookie, makes a key with the CSRF token, reads the rate limit and a 401;
// a page on an unlisted origin cannot read anything. Pages and API all live on 127.0.0.1,
// which makes them one site on different origins, so the SameSite=Lax cookie goes along.
// Needs Chromium (.ci/run installs it); skipped, saying so, when it cannot be found.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, type Target, type TargetSettings } from './shared/target.js';
import { startHttpMock } from './support/mock-targets.js';
import { startRealServer } from './support/real-server.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const here = (p: string) => new URL(p, import.meta.url).pathname;
if (!existsSync(CHROMIUM)) {
  console.warn(
    `browser-cors.test.ts skipped: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`,
  );
}

/** A static server for the page: index.html and the bundle, on a port of its own. */
async function servePage(script: string): Promise<{ origin: string; close(): Promise<void> }> {
  const files: Record<string, [string, string]> = {
    '/': [
      'text/html',
      '<!DOCTYPE html><html><body><script type="module" src="/page.js"></script></body></html>',
    ],
    '/page.js': ['text/javascript', script],
  };
  const server: Server = createServer((req, res) => {
    const file = files[new URL(req.url ?? '/', 'http://page').pathname];
    res.writeHead(file ? 200 : 404, { 'Content-Type': file?.[0] ?? 'text/plain' });
    res.end(file?.[1] ?? 'not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe.skipIf(!existsSync(CHROMIUM))('a browser app on another origin, in Chromium', () => {
  let listedPage: Awaited<ReturnType<typeof servePage>>;
  let unlistedPage: Awaited<ReturnType<typeof servePage>>;

  beforeAll(async () => {
    const bundle = await build({
      entryPoints: [here('./browser/cors-page.ts')],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      write: false,
      logLevel: 'silent',
    });
    const script = bundle.outputFiles[0]?.text ?? '';
    listedPage = await servePage(script);
    unlistedPage = await servePage(script);
  });
  afterAll(async () => {
    await listedPage?.close();
    await unlistedPage?.close();
  });

  const TARGETS: [string, (settings: TargetSettings) => Promise<Target>][] = [
    ['real server', startRealServer],
    ['mock HTTP server', startHttpMock],
  ];

  for (const [name, start] of TARGETS) {
    it(`the SDK logs in, makes a key and reads the rate limit from a listed origin only (${name})`, async () => {
      const api = await start({ rateLimit: 50, corsOrigins: [listedPage.origin] });
      const profile = mkdtempSync(path.join(tmpdir(), 'latchkey-chromium-'));
      const context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        args: FLAGS,
      });
      try {
        const open = async (page: { origin: string }, mode: string) => {
          const tab = await context.newPage();
          const params = new URLSearchParams({
            api: api.baseUrl,
            as: ADMIN.username,
            password: ADMIN.password,
            mode,
          });
          await tab.goto(`${page.origin}/?${params}`);
          await tab.waitForFunction(() => 'result' in window, undefined, { timeout: 20_000 });
          return tab.evaluate(() => (window as unknown as { result: Promise<unknown> }).result);
        };

        expect(await open(listedPage, 'listed')).toEqual({
          loggedIn: ADMIN.username,
          createdStatus: 201,
          keyName: 'made in the browser',
          keyPrefix: 'lk_',
          location: 'present',
          sessionMethod: 'SessionAuth',
          authHeader: 'SessionAuth',
          rateLimit: { limit: 50, remaining: expect.any(Number), resets: true },
          unauthorized: { name: 'AuthenticationError', status: 401, code: 'AUTHENTICATION_FAILED' },
          keyMethod: 'HeaderTokenAuth',
        });

        const refused = { name: 'NetworkError', message: expect.any(String), cause: 'Failed to fetch' };
        expect(await open(unlistedPage, 'unlisted')).toEqual({ health: refused, login: refused });
      } finally {
        await context.close();
        await api.close();
        rmSync(profile, { recursive: true, force: true });
      }
    });
  }
});
