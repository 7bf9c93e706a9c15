// The console for front-end work without a database: `vite preview` (as `pnpm dev` does)
// sends the API's paths to `latchkey-mock`'s HTTP server, and the console signs in, creates a
// key and shows it once, lists only its start, deactivates and activates it, against the mock.
import { fileURLToPath } from 'node:url';
import { DEFAULT_SEED_PASSWORD } from '@latchkey/mock';
import { type RunningMockServer, startMockServer } from '@latchkey/mock/server';
import type { Browser } from 'playwright-core';
import { type PreviewServer, preview } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAccessible, HAS_CHROMIUM, launchChromium, openPage } from './support/browser.js';
import { freePort } from './support/server.js';

const CONSOLE_DIR = fileURLToPath(new URL('../', import.meta.url));

describe.skipIf(!HAS_CHROMIUM)('the console against latchkey-mock', () => {
  let mock: RunningMockServer;
  let site: PreviewServer;
  let origin: string;
  let browser: Browser;

  beforeAll(async () => {
    mock = await startMockServer({ port: 0, seed: { users: [{ username: 'alice', is_superuser: true }] } });
    // vite.config.ts sends /api and the other API paths to LATCHKEY_API_URL.
    process.env.LATCHKEY_API_URL = mock.url;
    const port = await freePort();
    site = await preview({
      root: CONSOLE_DIR,
      configFile: fileURLToPath(new URL('../vite.config.ts', import.meta.url)),
      logLevel: 'silent',
      preview: { host: '127.0.0.1', port, strictPort: true, open: false },
    });
    origin = `http://127.0.0.1:${port}`;
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await site?.close();
    await mock?.close();
    delete process.env.LATCHKEY_API_URL;
  });

  it('signs in, creates a key shown once, lists its start, deactivates and activates it', async () => {
    const { page, context, problems } = await openPage(browser, origin);
    try {
      await page.goto(`${origin}/console/`);
      await page.getByLabel('Username').fill('alice');
      await page.getByLabel('Password').fill(DEFAULT_SEED_PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByText('Signed in as alice').waitFor();
      await page.getByText('No keys here yet').waitFor();

      await page.getByRole('link', { name: 'Create a key' }).click();
      await page.getByLabel('Name').fill('from-the-mock');
      await page.getByRole('button', { name: 'Create key' }).click();
      await page.getByText('you will not see it again').waitFor();
      const secret = (await page.getByTestId('secret').textContent()) ?? '';
      expect(secret).toMatch(/^lk_/);
      // The mock holds the key: it authenticates there.
      const whoami = await fetch(`${mock.url}/api/v1/auth/whoami`, { headers: { 'X-API-Key': secret } });
      expect(whoami.status).toBe(200);

      await page.getByRole('link', { name: 'Manage this key' }).click();
      await page.getByRole('heading', { name: 'Key from-the-mock' }).waitFor();
      expect((await page.locator('main').textContent()) ?? '').not.toContain(secret);
      await page.getByRole('button', { name: 'Deactivate' }).click();
      await page.getByRole('button', { name: 'Activate' }).waitFor();
      expect(
        (await fetch(`${mock.url}/api/v1/auth/whoami`, { headers: { 'X-API-Key': secret } })).status,
      ).toBe(401);
      await page.getByRole('button', { name: 'Activate' }).click();
      await page.getByRole('button', { name: 'Deactivate' }).waitFor();
      await expectAccessible(page, 'a key against the mock');

      await page.getByRole('link', { name: 'Users' }).click();
      await page.getByRole('heading', { name: 'alice' }).waitFor();
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
