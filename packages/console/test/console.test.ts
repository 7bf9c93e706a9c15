// The console in Chromium against a real server process: sign-in, a key's whole life, the
// superuser pages, a non-superuser's view, lockouts, webhooks, errors where they belong, 375 px,
// the keyboard, axe on every screen, and not one CSP refusal or request to another host.
// Screenshots of the main pages are written to docs/console/ on every run.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expectAccessible,
  HAS_CHROMIUM,
  launchChromium,
  openPage,
  screenshot,
  type WatchedPage,
} from './support/browser.js';
import { type ServerProcess, startServer } from './support/server.js';

const ADMIN = { username: 'admin', password: 'console admin passphrase 2026' };
const BOB = { username: 'bob', password: 'bob has a long passphrase 7' };
/** Where the key is used from, and the address that gets locked out (believed from X-Forwarded-For). */
const KEY_USER_ADDRESS = '198.51.100.23';
const ATTACKER = '203.0.113.7';

async function signIn(page: Page, origin: string, account: { username: string; password: string }) {
  await page.goto(`${origin}/console`);
  await page.getByLabel('Username').fill(account.username);
  await page.getByLabel('Password').fill(account.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText(`Signed in as ${account.username}`).waitFor();
}

function useKey(origin: string, key: string, from = KEY_USER_ADDRESS): Promise<Response> {
  return fetch(`${origin}/api/v1/auth/whoami`, { headers: { 'X-API-Key': key, 'X-Forwarded-For': from } });
}

describe.skipIf(!HAS_CHROMIUM)('the console in Chromium against a server', () => {
  let server: ServerProcess;
  let browser: Browser;
  let admin: WatchedPage;
  let receiver: Server;
  let received = 0;

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        received++;
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    server = await startServer({
      LATCHKEY_ADMIN_USERNAME: ADMIN.username,
      LATCHKEY_ADMIN_PASSWORD: ADMIN.password,
      LATCHKEY_USAGE_FLUSH_MS: '100',
      LATCHKEY_LOCKOUT_ATTEMPTS: '3',
      LATCHKEY_TRUSTED_PROXIES: '127.0.0.1',
      LATCHKEY_WEBHOOK_ALLOW_HTTP: 'true',
      LATCHKEY_WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
    });
    browser = await launchChromium();
    admin = await openPage(browser, server.origin);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    receiver?.closeAllConnections();
    await new Promise<void>((resolve) => (receiver ? receiver.close(() => resolve()) : resolve()));
  });

  it('is served under its CSP and shows the sign-in form; a wrong password is said next to the form', async () => {
    const { page } = admin;
    const response = await page.goto(`${server.origin}/console`);
    expect(response?.headers()['content-security-policy']).toContain("default-src 'self'");
    await page.getByRole('heading', { name: 'Sign in to Latchkey' }).waitFor();
    await expectAccessible(page, 'the sign-in form');
    await screenshot(page, 'sign-in');

    await page.getByLabel('Username').fill(ADMIN.username);
    await page.getByLabel('Password').fill('not the password at all');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const alert = page.locator('form.login [role="alert"]');
    await alert.waitFor();
    expect(await alert.textContent()).toContain('AUTHENTICATION_FAILED');
  });

  it('signs in with the keyboard alone', async () => {
    const { page } = admin;
    await page.goto(`${server.origin}/console`);
    await page.getByLabel('Username').waitFor();
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('name'))).toBe('username');
    await page.keyboard.type(ADMIN.username);
    await page.keyboard.press('Tab');
    await page.keyboard.type(ADMIN.password);
    await page.keyboard.press('Enter');
    await page.getByText(`Signed in as ${ADMIN.username}`).waitFor();
    await page.getByRole('heading', { name: 'My keys' }).waitFor();
    await page.getByText('No keys here yet').waitFor();
    await expectAccessible(page, 'my keys, empty');
  });

  let secret = '';
  let keyPage = '';
  let restored = '';

  it('creates a key and shows it once, with a copy button; the list shows only its start', async () => {
    const { page } = admin;
    await page.getByRole('link', { name: 'Create a key' }).click();
    await page.getByRole('heading', { name: 'Create a key' }).waitFor();
    expect(page.url()).toContain('#/keys/new');
    await expectAccessible(page, 'the create-key form');
    await page.getByLabel('Name').fill('ci-deploy');
    await page.getByLabel('Permissions').fill('profile:read keys:read');
    await page.getByLabel('Requests', { exact: true }).fill('100');
    await page.getByLabel('Per seconds').fill('60');
    await screenshot(page, 'create-key');
    await page.getByRole('button', { name: 'Create key' }).click();
    await page.getByText('you will not see it again').waitFor();
    secret = (await page.getByTestId('secret').textContent()) ?? '';
    expect(secret).toMatch(/^lk_[0-9A-Za-z]{38}$/);
    await expectAccessible(page, 'the new key');
    await screenshot(page, 'key-created');

    await page.getByRole('button', { name: 'Copy' }).click();
    await page.getByText('Copied to the clipboard.').waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);

    await page.getByRole('link', { name: 'Back to my keys' }).click();
    // The page of the new key has the same heading; wait for the list itself to be loaded.
    await page.getByRole('heading', { name: 'My keys' }).waitFor();
    await page
      .getByText(`${secret.slice(0, 7)}…`)
      .first()
      .waitFor();
    const text = (await page.locator('main').textContent()) ?? '';
    expect(text).not.toContain(secret);
    expect(text).toContain(`${secret.slice(0, 7)}…`);
    expect(text).toContain('profile:read, keys:read');
    expect(text).toContain('100 per 60 s');
    expect(text).toContain('via api');
  });

  it('shows when and where the key was last used', async () => {
    const { page } = admin;
    expect((await useKey(server.origin, secret)).status).toBe(200);
    await expect
      .poll(
        async () => {
          await page.reload();
          await page.getByRole('heading', { name: 'ci-deploy' }).waitFor();
          return page.getByTestId('last-used').first().textContent();
        },
        { timeout: 10_000, interval: 300 },
      )
      .toContain(`from ${KEY_USER_ADDRESS}`);
    await expectAccessible(page, 'my keys');
    await screenshot(page, 'my-keys');
    await page.getByRole('link', { name: 'Manage ci-deploy' }).click();
    await page.getByRole('heading', { name: 'Key ci-deploy' }).waitFor();
    keyPage = page.url();
  });

  it('deactivates (the key is refused), activates (it works again) and refuses a widening with its detail', async () => {
    const { page } = admin;
    await page.getByRole('button', { name: 'Deactivate' }).click();
    await page.getByRole('button', { name: 'Activate' }).waitFor();
    expect((await useKey(server.origin, secret)).status).toBe(401);
    await page.getByRole('button', { name: 'Activate' }).click();
    await page.getByRole('button', { name: 'Deactivate' }).waitFor();
    expect((await useKey(server.origin, secret)).status).toBe(200);

    await page.getByLabel('Change the permissions').check();
    await page.getByLabel('Permissions', { exact: true }).fill('profile:read keys:read keys:write');
    await page.getByRole('button', { name: 'Save' }).click();
    const alert = page.locator('section[aria-labelledby="narrow-title"] [role="alert"]');
    await alert.waitFor();
    const said = (await alert.textContent()) ?? '';
    expect(said).toMatch(/keys:write/);
    await expectAccessible(page, 'a key with a refused narrowing');
    await screenshot(page, 'key-actions');

    // A real narrowing goes through.
    await page.getByLabel('Permissions', { exact: true }).fill('profile:read');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('profile:read', { exact: true }).waitFor();
    expect(await alert.count()).toBe(0);
  });

  it('rotates with a grace period, deletes the new key after asking, and restores it from its value', async () => {
    const { page } = admin;
    await page.getByLabel('Grace period in seconds').fill('120');
    await page.getByRole('button', { name: 'Rotate' }).click();
    await page.getByText('you will not see it again').waitFor();
    const fresh = (await page.getByTestId('secret').textContent()) ?? '';
    expect(fresh).not.toBe(secret);
    expect((await useKey(server.origin, fresh)).status).toBe(200);
    expect((await useKey(server.origin, secret)).status).toBe(200); // within the grace period

    await page.getByRole('link', { name: 'Manage the new key' }).click();
    await page.getByText('Rotated from').waitFor();
    expect(page.url()).not.toBe(keyPage);
    await page.getByRole('button', { name: 'Delete' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    await expectAccessible(page, 'the delete confirmation');
    await dialog.getByRole('button', { name: 'Delete the key' }).click();
    await page.getByRole('heading', { name: 'My keys' }).waitFor();
    expect((await useKey(server.origin, fresh)).status).toBe(401);

    // Its clients still hold it: restored from its value, it works again.
    await page.getByRole('link', { name: 'Create a key' }).click();
    await page.getByLabel('Name').fill('restored');
    await page.getByText('Restore a key you already have').click();
    await page.getByLabel('The key itself').fill(fresh);
    await page.getByRole('button', { name: 'Create key' }).click();
    await page.getByText('The key you supplied is stored again as').waitFor();
    expect(await page.getByTestId('secret').count()).toBe(0);
    expect((await useKey(server.origin, fresh)).status).toBe(200);
    restored = fresh;
  });

  it('manages users: creates one, and shows the last-superuser guard as the server says it', async () => {
    const { page } = admin;
    await page.getByRole('link', { name: 'Users' }).click();
    await page.getByRole('heading', { name: 'Users' }).waitFor();
    await page.getByText('Create a user').click();
    await page.getByLabel('Username').fill(BOB.username);
    await page.getByLabel('Password', { exact: true }).fill(BOB.password);
    await page.getByRole('button', { name: 'Create user' }).click();
    await page.getByRole('heading', { name: BOB.username }).waitFor();

    const adminCard = page.locator('article', { has: page.getByRole('heading', { name: ADMIN.username }) });
    await adminCard.getByLabel('Superuser').click();
    const alert = adminCard.locator('[role="alert"]');
    await alert.waitFor();
    expect(await alert.textContent()).toContain('LAST_SUPERUSER');
    expect(await adminCard.getByLabel('Superuser').isChecked()).toBe(true);
    await expectAccessible(page, 'users');
    await screenshot(page, 'users');

    const bobCard = page.locator('article', { has: page.getByRole('heading', { name: BOB.username }) });
    await bobCard.getByLabel('May verify keys').click();
    await expect.poll(() => bobCard.getByLabel('May verify keys').isChecked()).toBe(true);
    await page.reload();
    await expect.poll(() => bobCard.getByLabel('May verify keys').isChecked()).toBe(true);
  });

  it('lists every key with filters, the audit log with filters and pages', async () => {
    const { page } = admin;
    await page.getByRole('link', { name: 'All keys' }).click();
    await page.getByRole('heading', { name: 'All keys' }).waitFor();
    await page
      .getByRole('heading', { name: /ci-deploy/ })
      .first()
      .waitFor();
    await page.getByLabel('State').selectOption('false');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.getByText('No key matches.').waitFor();
    expect(page.url()).toContain('is_active=false');
    await page.goBack();
    await page
      .getByRole('heading', { name: /ci-deploy/ })
      .first()
      .waitFor();
    // A superuser's deactivation and activation of someone's key.
    await page.getByRole('button', { name: 'Deactivate restored' }).click();
    await page.getByRole('button', { name: 'Activate restored' }).waitFor();
    expect((await useKey(server.origin, restored)).status).toBe(401);
    await page.getByRole('button', { name: 'Activate restored' }).click();
    await page.getByRole('button', { name: 'Deactivate restored' }).waitFor();
    expect((await useKey(server.origin, restored)).status).toBe(200);
    await expectAccessible(page, 'all keys');
    await screenshot(page, 'all-keys');

    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.getByRole('heading', { name: 'Audit log' }).waitFor();
    await page.getByLabel('Action').selectOption('key.rotated');
    await page.getByRole('button', { name: 'Filter' }).click();
    await expect.poll(() => page.locator('ol.events > li').count()).toBe(1);
    expect(await page.locator('ol.events').textContent()).toContain('key.rotated');
    await page.reload();
    await expect.poll(() => page.locator('ol.events > li').count()).toBe(1);
    await page.getByLabel('Action').selectOption('');
    await page.getByLabel('Per page').selectOption('10');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.getByText(/^1–10 of \d+$/).waitFor();
    await page.getByRole('link', { name: 'Next' }).click();
    await page.getByText(/^11–\d+ of \d+$/).waitFor();
    expect(page.url()).toContain('offset=10');
    await page.goBack();
    await page.getByText(/^1–10 of \d+$/).waitFor();
    await expectAccessible(page, 'the audit log');
    await screenshot(page, 'audit-log');
  });

  it('shows a lockout and clears it', async () => {
    const { page } = admin;
    for (let i = 0; i < 3; i++) {
      await fetch(`${server.origin}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Forwarded-For': ATTACKER },
        body: JSON.stringify({ username: BOB.username, password: 'wrong guess number one' }),
      });
    }
    const locked = await fetch(`${server.origin}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Forwarded-For': ATTACKER },
      body: JSON.stringify(BOB),
    });
    expect(locked.status).toBe(429);
    await page.getByRole('link', { name: 'Lockouts' }).click();
    await page.getByText(ATTACKER).waitFor();
    await expectAccessible(page, 'lockouts');
    await screenshot(page, 'lockouts');
    await page.getByRole('button', { name: `Clear the lockout of ${ATTACKER}` }).click();
    await page.getByText('No address is locked out.').waitFor();
    const after = await fetch(`${server.origin}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Forwarded-For': ATTACKER },
      body: JSON.stringify(BOB),
    });
    expect(after.status).toBe(200);
  });

  it('adds a webhook, shows its secret once, sends a test event, rotates the secret and redelivers', async () => {
    const { page } = admin;
    const addr = receiver.address() as AddressInfo;
    await page.getByRole('link', { name: 'Webhooks' }).click();
    await page.getByText('No webhooks.').waitFor();
    await page.getByText('Add a webhook').click();
    await page.getByLabel('Name').fill('audit-sink');
    await page.getByLabel('URL').fill(`http://127.0.0.1:${addr.port}/hooks`);
    await page.getByRole('button', { name: 'Add webhook' }).click();
    await page.getByText('you will not see it again').waitFor();
    expect(await page.getByTestId('secret').textContent()).toMatch(/^whsec_/);
    await page.getByRole('button', { name: 'Send a test event' }).click();
    await expect.poll(() => received, { timeout: 10_000 }).toBeGreaterThanOrEqual(1);
    await expectAccessible(page, 'webhooks');
    await screenshot(page, 'webhooks');

    const first = await page.getByTestId('secret').textContent();
    await page.getByRole('button', { name: 'Rotate secret' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Rotate the secret' }).click();
    await expect.poll(() => page.getByTestId('secret').textContent()).not.toBe(first);
    expect(await page.getByTestId('secret').textContent()).toMatch(/^whsec_/);

    await page.getByRole('link', { name: 'Deliveries of audit-sink' }).click();
    await expect
      .poll(
        async () => {
          await page.reload();
          await page.getByRole('heading', { name: 'Deliveries of audit-sink' }).waitFor();
          return page.locator('article').first().textContent();
        },
        { timeout: 10_000, interval: 300 },
      )
      .toContain('delivered');
    const before = received;
    await page.getByRole('button', { name: 'Redeliver' }).first().click();
    await expect.poll(() => received, { timeout: 10_000 }).toBeGreaterThan(before);
    await expectAccessible(page, 'deliveries');
  });

  it('fits a 375 px screen', async () => {
    const phone = await openPage(browser, server.origin, { width: 375, height: 812 });
    try {
      await signIn(phone.page, server.origin, ADMIN);
      await phone.page.getByRole('heading', { name: 'ci-deploy' }).waitFor();
      const overflow = await phone.page.evaluate(() => document.documentElement.scrollWidth);
      expect(overflow).toBeLessThanOrEqual(375);
      await expectAccessible(phone.page, 'my keys at 375 px');
      await screenshot(phone.page, 'my-keys-375px');
      expect(phone.problems).toEqual([]);
    } finally {
      await phone.context.close();
    }
  });

  it('shows a non-superuser no admin pages, and the 403 at their addresses', async () => {
    const bob = await openPage(browser, server.origin);
    try {
      await signIn(bob.page, server.origin, BOB);
      await bob.page.getByText('No keys here yet').waitFor();
      const nav = (await bob.page.getByRole('navigation', { name: 'Console' }).textContent()) ?? '';
      expect(nav).toContain('My keys');
      for (const label of ['All keys', 'Users', 'Lockouts', 'Audit log', 'Webhooks'])
        expect(nav).not.toContain(label);
      for (const [url, heading] of [
        ['#/admin/users', 'Users'],
        ['#/admin/keys', 'All keys'],
        ['#/admin/lockouts', 'Lockouts'],
        ['#/admin/audit', 'Audit log'],
        ['#/admin/webhooks', 'Webhooks'],
      ] as const) {
        await bob.page.goto(`${server.origin}/console${url}`);
        await bob.page.getByRole('heading', { name: heading }).waitFor();
        const alert = bob.page.locator('main [role="alert"]').first();
        await alert.waitFor();
        expect(await alert.textContent()).toMatch(/\(FORBIDDEN|\(SUPERUSER_REQUIRED|\(PERMISSION/);
      }
      await expectAccessible(bob.page, 'a refused admin page');

      // The old token pages of ArchiveBox and NetBox lead here.
      await bob.page.goto(`${server.origin}/user/api-tokens/`);
      await bob.page.getByRole('heading', { name: 'My keys' }).waitFor();
      expect(bob.page.url()).toBe(`${server.origin}/console#/keys`);

      // Changing the password: a wrong current one is said next to the form.
      await bob.page.getByRole('link', { name: 'Password' }).click();
      await bob.page.getByLabel('Current password').fill('not my password at all');
      await bob.page.getByLabel('New password').fill('a brand new passphrase 99');
      await bob.page.getByRole('button', { name: 'Change password' }).click();
      await bob.page.locator('main [role="alert"]').waitFor();
      await bob.page.getByLabel('Current password').fill(BOB.password);
      await bob.page.getByRole('button', { name: 'Change password' }).click();
      await bob.page.getByText('Your password is changed.').waitFor();
      await expectAccessible(bob.page, 'the password page');
      expect(bob.problems).toEqual([]);
      expect(bob.outside).toEqual([]);
    } finally {
      await bob.context.close();
    }
  });

  it('signs out: the session cookie stops working', async () => {
    const { page } = admin;
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to Latchkey' }).waitFor();
    await page.reload();
    await page.getByRole('heading', { name: 'Sign in to Latchkey' }).waitFor();
    // Nothing was refused by the CSP or sent elsewhere during the whole run.
    expect(admin.problems).toEqual([]);
    expect(admin.outside).toEqual([]);
  });
});
