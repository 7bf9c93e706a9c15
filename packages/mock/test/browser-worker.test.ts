// @latchkey/mock/browser in a real browser: msw's service worker, the SDK, a seeded key,
// a rate limit and a scenario. Needs Chromium (apt-get install chromium); skipped without it.
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const here = (p: string) => new URL(p, import.meta.url).pathname;

describe.skipIf(!existsSync(CHROMIUM))('browser entry point in Chromium', () => {
  let server: Server;
  let origin: string;

  beforeAll(async () => {
    const bundle = await build({
      entryPoints: [here('./browser/page.ts')],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      write: false,
      logLevel: 'silent',
    });
    const files: Record<string, [string, string]> = {
      '/': [
        'text/html',
        '<!DOCTYPE html><html><body><script type="module" src="/page.js"></script></body></html>',
      ],
      '/page.js': ['text/javascript', bundle.outputFiles[0]?.text ?? ''],
      '/mockServiceWorker.js': [
        'text/javascript',
        readFileSync(here('../node_modules/msw/lib/mockServiceWorker.js'), 'utf8'),
      ],
    };
    server = createServer((req, res) => {
      const file = files[req.url ?? ''];
      res.writeHead(file ? 200 : 404, { 'Content-Type': file?.[0] ?? 'text/plain' });
      res.end(file?.[1] ?? 'not found');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://localhost:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });

  it('answers the SDK from the service worker, with the rate limit and a scenario', async () => {
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    try {
      const page = await browser.newPage();
      await page.goto(origin);
      await page.waitForFunction(() => 'result' in window, undefined, { timeout: 20_000 });
      const result = await page.evaluate(() => (window as unknown as { result: Promise<unknown> }).result);
      expect(result).toMatchObject({
        method: 'HeaderTokenAuth',
        remaining: '2',
        names: ['made in the browser', 'browser'],
        limited: '429 RATE_LIMITED',
        failed: 500,
      });
      expect((result as { createdKey: string }).createdKey).toMatch(/^lk_[0-9A-Za-z]{38}$/);
    } finally {
      await browser.close();
    }
  });
});
