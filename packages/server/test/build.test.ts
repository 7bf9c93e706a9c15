import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import SqliteDatabase from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from './support/free-port.js';

// The compiled bundle that `pnpm start`, `latchkey` and the benchmark run: it builds, starts
// on its SQLite default, and finds the contract, the docs and its version from dist/.

const SERVER_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BUNDLE = path.join(SERVER_DIR, 'dist/main.js');

describe('the compiled server (dist/main.js)', () => {
  let child: ChildProcess | undefined;
  let url = '';
  let dataDir = '';
  let output = '';

  beforeAll(async () => {
    const built = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: SERVER_DIR, encoding: 'utf8' });
    expect(built.status, built.stderr).toBe(0);
    dataDir = mkdtempSync(path.join(tmpdir(), 'latchkey-build-'));
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    // Started from another folder: nothing may depend on the working directory.
    child = spawn(process.execPath, [BUNDLE, 'serve'], {
      cwd: dataDir,
      env: {
        PATH: process.env.PATH ?? '',
        LATCHKEY_DATA_DIR: dataDir,
        LATCHKEY_HOST: '127.0.0.1',
        LATCHKEY_PORT: String(port),
        // The banner the start is awaited by is an info line.
        LATCHKEY_LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the bundle did not start:\n${output}`)), 30_000);
      const watch = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Latchkey listening on')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child?.stdout?.on('data', watch);
      child?.stderr?.on('data', watch);
      child?.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the bundle exited with ${code}:\n${output}`));
      });
    });
  });

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child?.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('bundles the sources and @latchkey/core, and leaves npm packages as imports', () => {
    const code = readFileSync(BUNDLE, 'utf8');
    expect(code).not.toMatch(/from ["']@latchkey\/core["']/);
    expect(code).toMatch(/from ["']koa["']/);
    // The usage writer's thread is an entry point of its own, beside main.js.
    expect(existsSync(path.join(SERVER_DIR, 'dist/usage-writer.worker.js'))).toBe(true);
  });

  it('starts on its SQLite default and answers health and its own version', async () => {
    expect(existsSync(path.join(dataDir, 'latchkey.db'))).toBe(true);
    const health = await fetch(`${url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok', database: 'ok' });
    const root = (await (await fetch(`${url}/`)).json()) as { version: string };
    const pkg = JSON.parse(readFileSync(path.join(SERVER_DIR, 'package.json'), 'utf8')) as {
      version: string;
    };
    expect(root.version).toBe(pkg.version);
  });

  it('serves the contract, the reference page and the error pages from the repository', async () => {
    const contract = await fetch(`${url}/openapi.json`);
    expect(contract.status).toBe(200);
    expect(((await contract.json()) as { openapi: string }).openapi).toBe('3.1.0');
    const docs = await fetch(`${url}/docs`);
    expect(docs.status).toBe(200);
    expect(docs.headers.get('content-type')).toMatch(/^text\/html/);
    expect((await docs.text()).length).toBeGreaterThan(100_000);
    const page = await fetch(`${url}/docs/errors/RATE_LIMITED`);
    expect(page.status).toBe(200);
  });

  it('validates requests against the contract', async () => {
    const r = await fetch(`${url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'someone' }),
    });
    expect(r.status).toBe(400);
    expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(((await r.json()) as { code: string }).code).toBe('VALIDATION_FAILED');
  });

  // Last: it stops the server, whose shutdown flushes the buffered last use.
  it("authenticates a key and writes its last use from the bundle's worker thread", async () => {
    const key = `build-test-${'k'.repeat(32)}`;
    const registered = await fetch(`${url}/api/v1/auth/register-key`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ api_key: key, label: 'build test' }),
    });
    expect(registered.status).toBe(201);
    const whoami = await fetch(`${url}/api/v1/auth/whoami`, { headers: { 'x-api-key': key } });
    expect(whoami.status).toBe(200);
    expect(whoami.headers.get('x-auth-method')).toBe('HeaderTokenAuth');

    const exited = new Promise<number | null>((resolve) => child?.once('exit', resolve));
    child?.kill('SIGTERM');
    expect(await exited).toBe(0);
    const db = new SqliteDatabase(path.join(dataDir, 'latchkey.db'), { readonly: true });
    try {
      const row = db.prepare('select last_used_at, last_used_ip from api_keys').get() as {
        last_used_at: string | null;
        last_used_ip: string | null;
      };
      expect(row.last_used_ip).toBe('127.0.0.1');
      expect(row.last_used_at).not.toBeNull();
    } finally {
      db.close();
    }
    // Without the compiled worker the write falls back to the main thread and says so.
    expect(output).not.toMatch(/usage writer thread failed|could not write key usage/);
  });
});
