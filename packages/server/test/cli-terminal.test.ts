import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.js';
import { type CliIo, runCli } from '../src/cli/cli.js';
import { loadConfig } from '../src/config/config.js';
import { latchkeyInTerminal } from './support/terminal.js';

// The prompts of `latchkey createsuperuser` and `latchkey changepassword` as a user meets
// them: the command runs in a real pseudo-terminal and the test types at it.

const FIRST = 'first-Terminal-passphrase-7';
const SECOND = 'second-Terminal-passphrase-8';

describe('latchkey prompts in a terminal', () => {
  let dataDir: string;
  let env: Record<string, string>;

  beforeAll(() => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'latchkey-tty-'));
    env = { LATCHKEY_DATA_DIR: dataDir, LATCHKEY_LOG_LEVEL: 'silent' };
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  /** Logs in over HTTP against the data folder's database; returns the status. */
  async function login(username: string, password: string): Promise<number> {
    const app = await createApp(loadConfig(env), { logger: pino({ level: 'silent' }) });
    const server = app.koa.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', resolve));
    try {
      const res = await fetch(
        `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/auth/login`,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username, password }),
        },
      );
      return res.status;
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await app.close();
    }
  }

  async function usernames(): Promise<string[]> {
    const app = await createApp(loadConfig(env), { logger: pino({ level: 'silent' }) });
    try {
      return (await app.services.users.list({}, { limit: 200, offset: 0 })).rows.map((u) => u.username);
    } finally {
      await app.close();
    }
  }

  it('createsuperuser: Ctrl-C at the username prompt exits 130 without a stack trace', async () => {
    const t = latchkeyInTerminal(['createsuperuser'], env);
    await t.waitFor('Username: ');
    t.type('\u0003');
    expect(await t.exited).toBe(130);
    expect(t.output()).toContain('cancelled; nothing was changed');
    expect(t.output()).not.toMatch(/Error|\n\s+at /);
  });

  it('createsuperuser: a mismatch is reported and asked again; Ctrl-C then exits 130 and creates nothing', async () => {
    const t = latchkeyInTerminal(['createsuperuser', '--username', 'admin'], env);
    let at = await t.waitFor('Password: ');
    t.type(`${FIRST}\r`);
    at = await t.waitFor('Password (again): ', at);
    t.type(`${SECOND}\r`);
    at = await t.waitFor('The two passwords do not match; try again.', at);
    await t.waitFor('Password: ', at);
    t.type('\u0003');
    expect(await t.exited).toBe(130);
    expect(t.output()).toContain('cancelled; nothing was changed');
    expect(t.output()).not.toMatch(/Error|\n\s+at /);
    expect(t.output()).not.toContain(FIRST);
    expect(t.output()).not.toContain(SECOND);
    expect(await usernames()).toEqual([]);
  });

  it('createsuperuser: asks again after a weak password, then creates the user with the typed password', async () => {
    const t = latchkeyInTerminal(['createsuperuser', '--username', 'admin'], env);
    let at = await t.waitFor('Password: ');
    t.type('password123\r');
    at = await t.waitFor('The password is too common; try again.', at);
    at = await t.waitFor('Password: ', at);
    // Typed with a slip corrected by Backspace.
    t.type(`${FIRST}x\u007f\r`);
    await t.waitFor('Password (again): ', at);
    t.type(`${FIRST}\r`);
    expect(await t.exited).toBe(0);
    expect(t.output()).toMatch(/created superuser admin \([0-9a-f-]{36}\)/);
    // Nothing typed is echoed.
    expect(t.output()).not.toContain(FIRST);
    expect(t.output()).not.toContain('password123');
    expect(await login('admin', FIRST)).toBe(200);
  });

  it('changepassword: Ctrl-C keeps the old password', async () => {
    const t = latchkeyInTerminal(['changepassword', 'admin'], env);
    const at = await t.waitFor('Password: ');
    t.type(`${SECOND}\r`);
    await t.waitFor('Password (again): ', at);
    t.type('\u0003');
    expect(await t.exited).toBe(130);
    expect(t.output()).toContain('cancelled; nothing was changed');
    expect(await login('admin', FIRST)).toBe(200);
  });

  it('changepassword: asks twice, reports a mismatch, then sets the new password', async () => {
    const t = latchkeyInTerminal(['changepassword', 'admin'], env);
    let at = await t.waitFor('Changing the password of admin.');
    at = await t.waitFor('Password: ', at);
    t.type(`${SECOND}\r`);
    at = await t.waitFor('Password (again): ', at);
    t.type(`${FIRST}\r`);
    at = await t.waitFor('The two passwords do not match; try again.', at);
    at = await t.waitFor('Password: ', at);
    t.type(`${SECOND}\r`);
    await t.waitFor('Password (again): ', at);
    t.type(`${SECOND}\r`);
    expect(await t.exited).toBe(0);
    expect(t.output()).toContain('changed the password of admin; their login sessions ended');
    expect(t.output()).not.toContain(SECOND);
    expect(await login('admin', FIRST)).toBe(401);
    expect(await login('admin', SECOND)).toBe(200);
  });

  it('changepassword: an unknown user fails before any prompt', async () => {
    const t = latchkeyInTerminal(['changepassword', 'ghost'], env);
    expect(await t.exited).toBe(1);
    expect(t.output()).toContain('error: No user named "ghost".');
    expect(t.output()).not.toContain('Password: ');
  });

  it('changepassword without a terminal is a usage error (exit 2)', async () => {
    const err: string[] = [];
    const io: CliIo = { out: () => {}, err: (l) => err.push(l), env };
    expect(await runCli(['changepassword', 'admin'], io)).toBe(2);
    expect(err.join('\n')).toContain('asks for the new password at a terminal');
  });
});
