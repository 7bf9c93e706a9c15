// What a signed-in person meets over time: a login near its end warns and is renewed in
// place, and a 429 says when to try again. A server whose logins last 5 minutes and whose
// rate limit is 6 requests a minute per credential.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAccessible, HAS_CHROMIUM, launchChromium, openPage } from './support/browser.js';
import { type ServerProcess, startServer } from './support/server.js';

const ADMIN = { username: 'admin', password: 'console admin passphrase 2026' };

describe.skipIf(!HAS_CHROMIUM)('a short login and a small rate limit', () => {
  let server: ServerProcess;
  let browser: Browser;

  beforeAll(async () => {
    server = await startServer({
      LATCHKEY_ADMIN_USERNAME: ADMIN.username,
      LATCHKEY_ADMIN_PASSWORD: ADMIN.password,
      LATCHKEY_JWT_TTL_S: '300',
      LATCHKEY_RATE_LIMIT: '6',
      LATCHKEY_RATE_WINDOW_S: '60',
    });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('warns before the login ends, renews it in place, and says when to retry after a 429', async () => {
    const { page, context, problems } = await openPage(browser, server.origin);
    try {
      await page.goto(`${server.origin}/console`);
      await page.getByLabel('Username').fill(ADMIN.username);
      await page.getByLabel('Password').fill(ADMIN.password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      const warning = page.getByRole('alert', { name: 'Sign-in ending' });
      await warning.waitFor();
      const before = (await warning.textContent()) ?? '';
      expect(before).toContain('Your sign-in ends at');
      await expectAccessible(page, 'the expiry warning');

      await new Promise((r) => setTimeout(r, 1100));
      await warning.getByRole('button', { name: 'Renew' }).click();
      await warning.getByRole('heading', { name: 'Sign in again' }).waitFor();
      expect(await warning.getByLabel('Username').inputValue()).toBe(ADMIN.username);
      await warning.getByLabel('Password').fill(ADMIN.password);
      await warning.getByRole('button', { name: 'Sign in' }).click();
      await expect.poll(async () => (await warning.textContent()) ?? '').not.toBe(before);
      expect(await warning.textContent()).toContain('Your sign-in ends at');

      // Past the 6 requests of this session's window, the console says when to come back.
      let limited = '';
      for (let i = 0; i < 8 && !limited; i++) {
        await page.reload();
        await page.waitForLoadState('networkidle');
        const text = (await page.locator('body').textContent()) ?? '';
        if (/Try again in \d+ s/.test(text)) limited = text;
      }
      expect(limited).toMatch(/Try again in \d+ s \(at /);
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
