import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CLI_ACTOR, type UserRecord } from '@latchkey/core';
import SqliteDatabase from 'better-sqlite3';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApp, type LatchkeyApp } from '../src/app.js';
import { loadConfig } from '../src/config/config.js';

// The embedded default: a SQLite file, with key usage written by a worker thread on a
// connection of its own, and the CLI (or a shell) changing credentials from another process.
// Usage writes must leave the cache alone; every other change from outside must reach it
// within a second, and forget only what it changed.

const WITHIN_MS = 1000;

describe('a server on a SQLite file', () => {
  let dataDir = '';
  let app: LatchkeyApp;
  let server: Server;
  let baseUrl = '';
  /** Another process's connection, as the CLI or the sqlite3 shell has. */
  let other: SqliteDatabase.Database;
  let owner: UserRecord;
  let n = 0;

  const whoami = (key: string) =>
    fetch(`${baseUrl}/api/v1/auth/whoami`, { headers: { 'x-api-key': key } }).then((r) => r.status);
  const newKey = async () => {
    const { key, plaintext } = await app.services.keys.create(
      CLI_ACTOR,
      owner,
      { name: `file-${++n}` },
      'api',
    );
    return { id: key.id, key: plaintext };
  };
  /** Polls until the status is the expected one, or the time is up; returns the last status. */
  async function statusWithin(key: string, expected: number, ms: number): Promise<number> {
    const until = Date.now() + ms;
    let status = await whoami(key);
    while (status !== expected && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 50));
      status = await whoami(key);
    }
    return status;
  }

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'latchkey-file-'));
    const config = loadConfig({
      LATCHKEY_DATA_DIR: dataDir,
      LATCHKEY_LOG_LEVEL: 'silent',
      LATCHKEY_RATE_LIMIT: '1000000',
      // Only flushUsage() writes usage in these tests.
      LATCHKEY_USAGE_FLUSH_MS: '600000',
    });
    expect(config.database).toEqual({ kind: 'sqlite', file: path.join(dataDir, 'latchkey.db') });
    app = await createApp(config, { validateResponses: true, logger: pino({ level: 'silent' }) });
    server = app.koa.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    other = new SqliteDatabase(path.join(dataDir, 'latchkey.db'));
    other.pragma('busy_timeout = 5000');
    owner = await app.services.users.create(CLI_ACTOR, {
      username: 'file-owner',
      password: 'a-long-test-password-42',
      isSuperuser: false,
      canCreateTokens: true,
    });
  });

  afterAll(async () => {
    other?.close();
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await app?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('writes last use from the worker thread and keeps the cached key through it', async () => {
    const { id, key } = await newKey();
    expect(await whoami(key)).toBe(200);
    const reads = vi.spyOn(app.services.store.keys, 'findByDigest');
    try {
      await app.flushUsage();
      const row = other.prepare('select last_used_at, last_used_ip from api_keys where id = ?').get(id) as {
        last_used_at: string | null;
        last_used_ip: string | null;
      };
      expect(row.last_used_ip).toBe('127.0.0.1');
      expect(Date.now() - Date.parse(row.last_used_at ?? '')).toBeLessThan(10_000);
      // Longer than the change poll: a usage write is not a change to the credential.
      await new Promise((r) => setTimeout(r, 600));
      expect(await whoami(key)).toBe(200);
      expect(reads).not.toHaveBeenCalled();
    } finally {
      reads.mockRestore();
    }
  });

  it("forgets only what another process changed; this server's own change empties nothing else", async () => {
    const changed = await newKey();
    const mine = await newKey();
    const other2 = await newKey();
    for (const k of [changed, mine, other2]) expect(await whoami(k.key)).toBe(200);
    other.prepare('update api_keys set is_active = 0 where id = ?').run(changed.id);
    await app.services.keys.setActive(CLI_ACTOR, owner, mine.id, false);
    expect(await statusWithin(changed.key, 401, WITHIN_MS)).toBe(401);
    expect(await whoami(mine.key)).toBe(401);
    // Longer than the change poll, which also sees this server's own change.
    await new Promise((r) => setTimeout(r, 600));
    const reads = vi.spyOn(app.services.store.keys, 'findByDigest');
    try {
      expect(await whoami(other2.key)).toBe(200);
      expect(reads).not.toHaveBeenCalled();
    } finally {
      reads.mockRestore();
    }
  });

  it('refuses a cached key within a second of its deactivation by another process', async () => {
    const { id, key } = await newKey();
    expect(await whoami(key)).toBe(200);
    other.prepare('update api_keys set is_active = 0 where id = ?').run(id);
    expect(await statusWithin(key, 401, WITHIN_MS)).toBe(401);
  });

  it('refuses a cached key within a second of its deletion by another process (token revoke)', async () => {
    const { id, key } = await newKey();
    expect(await whoami(key)).toBe(200);
    other.prepare('delete from api_keys where id = ?').run(id);
    expect(await statusWithin(key, 401, WITHIN_MS)).toBe(401);
  });

  it("refuses a cached key within a second of its owner's deactivation by another process", async () => {
    const { key } = await newKey();
    expect(await whoami(key)).toBe(200);
    other.prepare('update users set is_active = 0 where id = ?').run(owner.id);
    try {
      expect(await statusWithin(key, 401, WITHIN_MS)).toBe(401);
    } finally {
      other.prepare('update users set is_active = 1 where id = ?').run(owner.id);
    }
  });
});
