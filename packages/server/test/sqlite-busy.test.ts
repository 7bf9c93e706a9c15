import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CLI_ACTOR } from '@latchkey/core';
import SqliteDatabase from 'better-sqlite3';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type LatchkeyApp } from '../src/app.js';
import { loadConfig } from '../src/config/config.js';

// Another process (the CLI, the sqlite3 shell, a backup) holds the write lock of the SQLite
// file. Health checks and reads go on while a write waits for the lock; the write gives up
// after LATCHKEY_SQLITE_BUSY_TIMEOUT_MS with 503 DATABASE_BUSY and Retry-After, storing
// nothing; once the lock is released, the same write succeeds.
//
// Responses are not checked against the contract here: 503 DATABASE_BUSY is declared by
// the contract's common responses, which another change brings.

describe('a SQLite file locked by another process', () => {
  let dataDir = '';
  let app: LatchkeyApp;
  let server: Server;
  let baseUrl = '';
  let key = '';
  /** The other process's connection. */
  let other: SqliteDatabase.Database;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'latchkey-busy-'));
    const config = loadConfig({
      LATCHKEY_DATA_DIR: dataDir,
      LATCHKEY_LOG_LEVEL: 'silent',
      LATCHKEY_RATE_LIMIT: '1000000',
      // Long enough for the reads below to be answered while the write still waits.
      LATCHKEY_SQLITE_BUSY_TIMEOUT_MS: '4000',
    });
    app = await createApp(config, { logger: pino({ level: 'silent' }) });
    server = app.koa.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const owner = await app.services.users.create(CLI_ACTOR, {
      username: 'busy-owner',
      password: 'a-long-test-password-42',
      canCreateTokens: true,
    });
    key = (await app.services.keys.create(CLI_ACTOR, owner, { name: 'existing' }, 'api')).plaintext;
    other = new SqliteDatabase(path.join(dataDir, 'latchkey.db'));
  });

  afterAll(async () => {
    if (other?.inTransaction) other.exec('ROLLBACK');
    other?.close();
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await app?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const call = async (p: string, init: RequestInit = {}) => {
    const res = await fetch(`${baseUrl}${p}`, {
      ...init,
      headers: { 'x-api-key': key, 'content-type': 'application/json', ...init.headers },
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
  };
  const createKey = (name: string) =>
    call('/api/v1/keys', { method: 'POST', body: JSON.stringify({ name }) });
  const stored = (name: string) =>
    other.prepare('select count(*) as n from api_keys where name = ?').get(name) as { n: number };

  it('answers health and reads while a write waits, then refuses the write with 503 and Retry-After', async () => {
    other.exec('BEGIN IMMEDIATE');
    const finished: string[] = [];
    const write = createKey('while-locked').then((r) => {
      finished.push('write');
      return r;
    });
    // Let the write reach the server and start waiting for the lock.
    await new Promise((r) => setTimeout(r, 300));
    const health = await call('/health');
    finished.push('health');
    const read = await call('/api/v1/keys');
    finished.push('read');

    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: 'ok', database: 'ok' });
    expect(read.status).toBe(200);
    expect(read.body.results.map((k: { name: string }) => k.name)).toEqual(['existing']);

    const refused = await write;
    expect(finished).toEqual(['health', 'read', 'write']);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.body).toMatchObject({
      status: 503,
      code: 'DATABASE_BUSY',
      type: '/docs/errors/DATABASE_BUSY',
    });
    expect(refused.body.detail).toContain('Nothing was changed');
    expect(stored('while-locked').n).toBe(0);
  });

  it('a login (it writes a session) is refused the same way, and nothing is stored', async () => {
    const sessions = () => (other.prepare('select count(*) as n from sessions').get() as { n: number }).n;
    const before = sessions();
    const r = await call('/api/v1/auth/login', {
      method: 'POST',
      body: JSON.stringify({ username: 'busy-owner', password: 'a-long-test-password-42' }),
    });
    expect(r.status).toBe(503);
    expect(r.body.code).toBe('DATABASE_BUSY');
    expect(sessions()).toBe(before);
  });

  it('stores the write once the lock is released', async () => {
    other.exec('ROLLBACK');
    const r = await createKey('after-release');
    expect(r.status).toBe(201);
    expect(stored('after-release').n).toBe(1);
    expect(stored('while-locked').n).toBe(0);
  });
});
