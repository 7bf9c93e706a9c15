import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import SqliteDatabase from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { DatabaseConfig } from '../src/config/config.js';
import { openStorage, type Storage } from '../src/db/database.js';
import { migrateToLatest } from '../src/db/migrator.js';
import { KyselyKeyRepository as KeyRepository } from '../src/keys/key.repository.js';
import { createUsageBuffer } from '../src/keys/usage.js';
import { UsageBuffer } from '../src/keys/usage-buffer.js';
import { type SpawnUsageWorker, spawnUsageWorker, UsageWriter } from '../src/keys/usage-writer.js';

/** A migrated SQLite file with one user; everything is removed after the test. */
interface FileDatabase {
  file: string;
  database: DatabaseConfig;
  storage: Storage;
  /** A connection of the test's own, as another process would have. */
  other: SqliteDatabase.Database;
  addKeys(n: number): string[];
  usageOf(id: string): { last_used_at: string | null; last_used_ip: string | null } | undefined;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function fileDatabase(): Promise<FileDatabase> {
  const dir = mkdtempSync(path.join(tmpdir(), 'latchkey-usage-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'latchkey.db');
  const database: DatabaseConfig = { kind: 'sqlite', file };
  const storage = await openStorage(database);
  cleanups.push(() => storage.close());
  await migrateToLatest(storage);
  const now = new Date().toISOString();
  await storage.db
    .insertInto('users')
    .values({
      id: 'owner',
      username: 'owner',
      password_hash: null,
      is_superuser: 0,
      is_active: 1,
      can_create_tokens: 1,
      created_at: now,
      updated_at: now,
    })
    .execute();
  const other = new SqliteDatabase(file);
  other.pragma('busy_timeout = 5000');
  cleanups.push(() => void other.close());
  const insert = other.prepare(
    `insert into api_keys (id, user_id, name, start, digest, pepper_id, write_enabled, is_active,
       allowed_ips, created_at, updated_at, created_via)
     values (?, 'owner', 'k', 'lk_abcd', ?, 'p1', 1, 1, '[]', ?, ?, 'api')`,
  );
  const addMany = other.transaction((ids: string[]) => {
    for (const id of ids) insert.run(id, randomBytes(32).toString('hex'), now, now);
  });
  return {
    file,
    database,
    storage,
    other,
    addKeys(n) {
      const ids = Array.from({ length: n }, () => randomUUID());
      addMany(ids);
      return ids;
    },
    usageOf: (id) =>
      other.prepare('select last_used_at, last_used_ip from api_keys where id = ?').get(id) as
        | { last_used_at: string | null; last_used_ip: string | null }
        | undefined,
  };
}

/** The usage buffer on the file, as createApp builds it, with its repository; stopped after the test. */
function keyService(db: FileDatabase, onError: (error: unknown) => void) {
  const keys = new KeyRepository(db.storage.db);
  const usage = createUsageBuffer(db.database, keys, onError);
  cleanups.push(() => usage.stop());
  return { keys, usage };
}

/** The real worker, each one started kept for the test to watch. */
function watchedSpawn(started: Worker[]): SpawnUsageWorker {
  return (data) => {
    const worker = spawnUsageWorker(data);
    started.push(worker);
    return worker;
  };
}

describe('key usage on a SQLite file, written by a worker thread', () => {
  it('writes last use to the file, where another connection reads it', async () => {
    const db = await fileDatabase();
    const [first, second] = db.addKeys(2) as [string, string];
    const onError = vi.fn();
    const keys = keyService(db, onError);
    const onMainThread = vi.spyOn(keys.keys, 'recordUsage');

    const at = new Date('2030-01-02T03:04:05.678Z');
    keys.usage.record(first, '198.51.100.7', at.getTime());
    keys.usage.record(second, '2001:db8::1', at.getTime());
    await keys.usage.flush();

    expect(db.usageOf(first)).toEqual({ last_used_at: at.toISOString(), last_used_ip: '198.51.100.7' });
    expect(db.usageOf(second)).toEqual({ last_used_at: at.toISOString(), last_used_ip: '2001:db8::1' });
    expect(onMainThread).not.toHaveBeenCalled();
    expect(onError).not.toHaveBeenCalled();
  });

  it('keeps the event loop running while it writes 20 000 keys', async () => {
    const db = await fileDatabase();
    // Rows spread over a larger table, as in production: each update touches its own page.
    const ids = db.addKeys(100_000).filter((_, i) => i % 5 === 0);
    const onError = vi.fn();
    const keys = keyService(db, onError);
    for (const id of ids) keys.usage.record(id, '203.0.113.9');

    // What a user notices: requests wait while the event loop is blocked.
    let last = performance.now();
    let longestGap = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      longestGap = Math.max(longestGap, now - last);
      last = now;
    }, 5);
    let flushMs: number;
    try {
      const started = performance.now();
      await keys.usage.flush();
      flushMs = performance.now() - started;
      // One more tick, so that a block at the very end is counted too.
      await new Promise((resolve) => setTimeout(resolve, 20));
    } finally {
      clearInterval(timer);
    }

    expect(onError).not.toHaveBeenCalled();
    const written = db.other
      .prepare("select count(*) as n from api_keys where last_used_ip = '203.0.113.9'")
      .get() as { n: number };
    expect(written.n).toBe(20_000);
    // Written on this thread, the flush is one block as long as itself (about 340 ms here),
    // however fast the machine. Off the thread, what is left is building the batch (tens of
    // ms); the floor of 100 ms leaves room for a loaded machine's scheduling.
    expect(longestGap).toBeLessThan(Math.max(100, flushMs / 2));
  });

  it('reports a failed write to onError without throwing, and writes again once it can', async () => {
    const db = await fileDatabase();
    const [id] = db.addKeys(1) as [string];
    const onError = vi.fn();
    const keys = keyService(db, onError);
    keys.usage.record(id, '192.0.2.1');
    await keys.usage.flush();
    expect(db.usageOf(id)?.last_used_ip).toBe('192.0.2.1');

    db.other.exec('alter table api_keys rename to api_keys_away');
    keys.usage.record(id, '192.0.2.2');
    await expect(keys.usage.flush()).resolves.toBeUndefined();
    expect(onError).toHaveBeenCalledTimes(1);
    expect(String(onError.mock.calls[0]![0])).toMatch(/no such table: api_keys/);

    db.other.exec('alter table api_keys_away rename to api_keys');
    keys.usage.record(id, '192.0.2.3');
    await keys.usage.flush();
    expect(onError).toHaveBeenCalledTimes(1);
    expect(db.usageOf(id)?.last_used_ip).toBe('192.0.2.3');
  });

  it('reports a database file that is gone, and never creates an empty one', async () => {
    const db = await fileDatabase();
    const [id] = db.addKeys(1) as [string];
    const onError = vi.fn();
    const keys = keyService(db, onError);
    rmSync(db.file);
    keys.usage.record(id, '192.0.2.1');
    await expect(keys.usage.flush()).resolves.toBeUndefined();
    expect(onError).toHaveBeenCalledTimes(1);
    expect(String(onError.mock.calls[0]![0])).toMatch(/unable to open database file/);
    expect(existsSync(db.file)).toBe(false);
  });

  it('survives a crashed worker: its batch is written on the main thread, the next flush starts a new one', async () => {
    const db = await fileDatabase();
    const [id] = db.addKeys(1) as [string];
    const repo = new KeyRepository(db.storage.db);
    const fallback = vi.fn((entries: Parameters<KeyRepository['recordUsage']>[0]) =>
      repo.recordUsage(entries),
    );
    const onThreadError = vi.fn();
    const started: Worker[] = [];
    const crashing = new Worker(
      "require('node:worker_threads').parentPort.on('message', () => { throw new Error('boom'); });",
      { eval: true },
    );
    const spawns = [() => crashing, watchedSpawn(started)];
    const writer = new UsageWriter(db.file, {
      fallback,
      onThreadError,
      spawn: (data) => spawns.shift()!(data),
    });
    const onError = vi.fn();
    const buffer = new UsageBuffer(
      (entries) => writer.write(entries),
      onError,
      () => writer.close(),
    );
    cleanups.push(() => buffer.stop());

    buffer.record(id, '192.0.2.10');
    await buffer.flush();
    expect(db.usageOf(id)?.last_used_ip).toBe('192.0.2.10');
    expect(fallback).toHaveBeenCalledTimes(1);
    expect(onThreadError).toHaveBeenCalledTimes(1);
    expect((onThreadError.mock.calls[0]![0] as Error).cause).toMatchObject({ message: 'boom' });
    expect(onError).not.toHaveBeenCalled();

    buffer.record(id, '192.0.2.11');
    await buffer.flush();
    expect(db.usageOf(id)?.last_used_ip).toBe('192.0.2.11');
    expect(started).toHaveLength(1);
    expect(fallback).toHaveBeenCalledTimes(1);
  });

  it('falls back to the main thread when the worker module cannot be loaded', async () => {
    const db = await fileDatabase();
    const [id] = db.addKeys(1) as [string];
    const repo = new KeyRepository(db.storage.db);
    const onThreadError = vi.fn();
    const writer = new UsageWriter(db.file, {
      fallback: (entries) => repo.recordUsage(entries),
      onThreadError,
      // As a bundle built without the worker's entry point would be.
      spawn: () => new Worker(new URL('./no-such-usage-writer.worker.js', import.meta.url)),
    });
    cleanups.push(() => writer.close());
    await writer.write([{ id, at: new Date().toISOString(), ip: '192.0.2.20' }]);
    expect(db.usageOf(id)?.last_used_ip).toBe('192.0.2.20');
    expect(onThreadError).toHaveBeenCalledTimes(1);
  });

  it('stop() writes what is pending, then ends the worker', async () => {
    const db = await fileDatabase();
    const [first, second] = db.addKeys(2) as [string, string];
    const started: Worker[] = [];
    const writer = new UsageWriter(db.file, {
      fallback: () => Promise.reject(new Error('not expected on the main thread')),
      onThreadError: () => {},
      spawn: watchedSpawn(started),
    });
    const onError = vi.fn();
    const buffer = new UsageBuffer(
      (entries) => writer.write(entries),
      onError,
      () => writer.close(),
    );

    buffer.record(first, '192.0.2.30');
    await buffer.flush();
    expect(writer.running).toBe(true);
    const [worker] = started as [Worker];
    const exitCode = new Promise<number>((resolve) => worker.once('exit', resolve));

    buffer.record(second, '192.0.2.31');
    await buffer.stop();
    expect(db.usageOf(second)?.last_used_ip).toBe('192.0.2.31');
    expect(writer.running).toBe(false);
    // It ended on its own (0), not terminated (1).
    expect(await exitCode).toBe(0);
    expect(started).toHaveLength(1);
    expect(onError).not.toHaveBeenCalled();
  });
});
