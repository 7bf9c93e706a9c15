import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type CliIo, runCli } from '../src/cli/cli.js';
import { runLatchkey } from './support/cli-process.js';
import { freePort } from './support/free-port.js';
import { startServerProcess, stopServerProcesses } from './support/server-process.js';
import { latchkeyInTerminal } from './support/terminal.js';

// What an operator sees when starting the server: typos in LATCHKEY_* variables named, an
// unreachable database or a busy port explained with the setting to change, and logs as
// JSON lines for collectors or as text at a terminal, with the banner naming /docs.

let dataDir: string;
beforeAll(() => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'latchkey-startup-'));
});
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
afterEach(stopServerProcesses);

async function run(argv: string[], env: Record<string, string>) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (l) => out.push(l), err: (l) => err.push(l), env };
  const code = await runCli(argv, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('unknown LATCHKEY_* variables', () => {
  it('a command warns on stderr, naming the nearest setting, and still runs', async () => {
    const r = await run(['migrate'], {
      LATCHKEY_DATA_DIR: dataDir,
      LATCHKEY_RATELIMIT: '50',
      LATCHKEY_LOCKOUT_ATTEMTPS: '3',
      LATCHKEY_SOMETHING_ELSE_ENTIRELY: '1',
    });
    expect(r.code).toBe(0);
    expect(r.err).toContain(
      'warning: LATCHKEY_RATELIMIT is not a Latchkey setting and is ignored; did you mean LATCHKEY_RATE_LIMIT?',
    );
    expect(r.err).toContain(
      'LATCHKEY_LOCKOUT_ATTEMTPS is not a Latchkey setting and is ignored; did you mean LATCHKEY_LOCKOUT_ATTEMPTS?',
    );
    expect(r.err).toMatch(/LATCHKEY_SOMETHING_ELSE_ENTIRELY is not a Latchkey setting and is ignored \(docs/);
    expect(r.err.split('\n')).toHaveLength(3);
  });

  it('the server logs it as a warning', async () => {
    const s = await startServerProcess({ LATCHKEY_LOG_FORMAT: 'json', LATCHKEY_RATELIMIT: '50' });
    const warning = s
      .stdout()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { level: number; msg: string })
      .find((l) => l.msg.includes('LATCHKEY_RATELIMIT'));
    expect(warning).toMatchObject({ level: 40 });
    expect(warning?.msg).toContain('did you mean LATCHKEY_RATE_LIMIT?');
  });
});

describe('an unreachable database', () => {
  it('Postgres: names the URL without its password and what to check', async () => {
    const port = await freePort();
    const url = `postgres://latchkey:s3cret-Pa55@127.0.0.1:${port}/latchkey`;
    const r = await run(['migrate'], { LATCHKEY_DATA_DIR: dataDir, LATCHKEY_DATABASE_URL: url });
    expect(r.code).toBe(1);
    expect(r.err).toContain(
      `Could not connect to the database at postgres://latchkey:***@127.0.0.1:${port}/latchkey`,
    );
    expect(r.err).toContain('ECONNREFUSED');
    expect(r.err).toContain('Check that Postgres is running');
    expect(r.err).toContain('LATCHKEY_DATABASE_URL');
    expect(r.err).not.toContain('s3cret-Pa55');
    expect(r.err).not.toContain('Migration');
  });

  it('the server says the same and exits 1', async () => {
    const port = await freePort();
    const r = await runLatchkey(['serve', '--port', String(await freePort())], {
      LATCHKEY_DATA_DIR: dataDir,
      LATCHKEY_DATABASE_URL: `postgres://latchkey:s3cret-Pa55@127.0.0.1:${port}/latchkey`,
    });
    expect(r.code).toBe(1);
    expect(r.err).toContain(
      `error: Could not connect to the database at postgres://latchkey:***@127.0.0.1:${port}/latchkey`,
    );
    expect(`${r.out}${r.err}`).not.toContain('s3cret-Pa55');
  });

  it('SQLite: a data folder that cannot be created names the setting', async () => {
    const notAFolder = path.join(dataDir, 'a-file');
    writeFileSync(notAFolder, 'not a folder');
    const r = await run(['migrate'], { LATCHKEY_DATA_DIR: path.join(notAFolder, 'data') });
    expect(r.code).toBe(1);
    expect(r.err).toContain(
      `Could not open the SQLite database ${path.join(notAFolder, 'data', 'latchkey.db')}`,
    );
    expect(r.err).toContain('LATCHKEY_DATA_DIR');
  });
});

describe('a busy port', () => {
  let taken: Server;
  let port: number;
  beforeAll(async () => {
    taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    port = (taken.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => taken.close(() => resolve())));

  it('names LATCHKEY_PORT and --port, and exits 1', async () => {
    const r = await runLatchkey(['serve', '--port', String(port)], { LATCHKEY_DATA_DIR: dataDir });
    expect(r.code).toBe(1);
    expect(r.err).toContain(
      `error: port ${port} on 127.0.0.1 is already in use; stop what listens there, or choose another port with LATCHKEY_PORT or --port`,
    );
    expect(r.err).not.toMatch(/\n\s+at /);
  });
});

describe('log format', () => {
  it('json (the default without a terminal): every line is a JSON object; the banner names /docs', async () => {
    const s = await startServerProcess({ LATCHKEY_LOG_LEVEL: 'info' });
    await fetch(`${s.base}/meta`);
    const lines = s.stdout().split('\n').filter(Boolean);
    const entries = lines.map((l) => JSON.parse(l) as { msg: string; docs?: string });
    const banner = entries.find((e) => e.msg.startsWith('Latchkey listening on'));
    expect(banner?.msg).toBe(
      `Latchkey listening on ${s.base} (SQLite ${path.join(s.dataDir, 'latchkey.db')}); API reference at ${s.base}/docs`,
    );
    expect(banner?.docs).toBe(`${s.base}/docs`);
    expect(entries.some((e) => e.msg.startsWith('No user and no key exist yet'))).toBe(true);
  });

  it('pretty: text lines with the level and the message, no JSON', async () => {
    const s = await startServerProcess({ LATCHKEY_LOG_LEVEL: 'info', LATCHKEY_LOG_FORMAT: 'pretty' });
    const out = s.stdout();
    expect(out).toMatch(
      /INFO.*Latchkey listening on http:\/\/127\.0\.0\.1:\d+ .*API reference at http:\/\/127\.0\.0\.1:\d+\/docs/,
    );
    expect(out).toContain('No user and no key exist yet');
    expect(out).not.toContain('{"level"');
  });

  it('a bad value is a configuration error (exit 2)', async () => {
    const r = await run(['migrate'], { LATCHKEY_DATA_DIR: dataDir, LATCHKEY_LOG_FORMAT: 'xml' });
    expect(r).toMatchObject({
      code: 2,
      err: expect.stringContaining('LATCHKEY_LOG_FORMAT: must be json or pretty'),
    });
  });

  it('at a terminal the default is pretty, and Ctrl-C stops the server gracefully', async () => {
    const port = await freePort();
    const t = latchkeyInTerminal(['serve', '--port', String(port)], {
      LATCHKEY_DATA_DIR: mkdtempSync(path.join(dataDir, 'tty-')),
      LATCHKEY_LOG_LEVEL: 'info',
    });
    try {
      const at = await t.waitFor(`API reference at http://127.0.0.1:${port}/docs`);
      expect(t.output()).not.toContain('{"level"');
      t.type('\u0003');
      await t.waitFor('shutting down', at);
      expect(await t.exited).toBe(0);
      expect(t.output()).toContain('closed');
    } finally {
      t.kill();
    }
  });
});
