import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { Storage } from '../db/database.js';
import type { AuthCache, Invalidation } from './auth-cache.js';

/** How invalidations reach this instance from other processes. */
export interface InvalidationBus {
  /** `redis` (pub/sub), `sqlite` (the file's change counter, for other processes on the box) or both. */
  readonly channels: string[];
  stop(): Promise<void>;
}

const CHANGES_POLL_MS = 250;

function isInvalidation(value: unknown): value is Invalidation {
  if (!value || typeof value !== 'object') return false;
  const v = value as { kind?: unknown; id?: unknown };
  if (v.kind === 'all') return true;
  return (v.kind === 'key' || v.kind === 'user' || v.kind === 'session') && typeof v.id === 'string';
}

/**
 * Connects the cache to the other processes that may change the same data:
 * - with Redis, every instance publishes what it invalidates on `<prefix>:auth-cache` and
 *   applies what the others publish (a reconnect forgets everything, since messages may
 *   have been missed while disconnected);
 * - on a SQLite file, triggers count every change to a key, user or session, from any
 *   connection (the CLI's, a shell's, this server's own), but not the last-used times that
 *   the usage writer thread records; the count is read every 250 ms and a change forgets
 *   everything.
 * Without either (Postgres without Redis), the caller caps the cache's TTL at 1 s.
 */
export async function connectInvalidationBus(
  cache: AuthCache,
  storage: Storage,
  options: { redisUrl: string | undefined; redisPrefix: string; sqliteFile: string | undefined },
  logger: Logger,
): Promise<InvalidationBus> {
  const channels: string[] = [];
  const stops: (() => Promise<void>)[] = [];

  if (options.redisUrl) {
    const me = randomUUID();
    const channel = `${options.redisPrefix}:auth-cache`;
    const common = { lazyConnect: true, maxRetriesPerRequest: 1 } as const;
    const subscriber = new Redis(options.redisUrl, common);
    const publisher = new Redis(options.redisUrl, { ...common, enableOfflineQueue: false });
    for (const client of [subscriber, publisher]) {
      client.on('error', (err) => logger.warn({ err: err.message }, 'redis error (cache invalidation)'));
    }
    let connectedOnce = false;
    subscriber.on('ready', () => {
      // Messages sent while this instance was disconnected are lost: forget everything.
      if (connectedOnce) cache.apply({ kind: 'all' });
      connectedOnce = true;
    });
    subscriber.on('message', (_channel: string, text: string) => {
      try {
        const message = JSON.parse(text) as { from?: unknown; change?: unknown };
        if (message.from === me || !isInvalidation(message.change)) return;
        cache.apply(message.change);
      } catch {
        logger.warn('ignored a malformed cache invalidation message');
      }
    });
    try {
      await Promise.all([subscriber.connect(), publisher.connect()]);
      await subscriber.subscribe(channel);
    } catch (err) {
      subscriber.disconnect();
      publisher.disconnect();
      throw err;
    }
    cache.publishTo(async (change) => {
      try {
        await publisher.publish(channel, JSON.stringify({ from: me, change }));
      } catch (err) {
        logger.error({ err: (err as Error).message }, 'could not publish a cache invalidation');
      }
    });
    channels.push('redis');
    stops.push(async () => {
      cache.publishTo(undefined);
      await subscriber.quit().catch(() => subscriber.disconnect());
      await publisher.quit().catch(() => publisher.disconnect());
    });
  }

  if (storage.dialect === 'sqlite' && options.sqliteFile && options.sqliteFile !== ':memory:') {
    const readVersion = async () =>
      Number(
        (await sql<{ n: number }>`select n from credential_changes where id = 1`.execute(storage.db)).rows[0]
          ?.n,
      );
    let version = await readVersion();
    let polling = false;
    const timer = setInterval(() => {
      if (polling) return;
      polling = true;
      readVersion()
        .then((now) => {
          if (now !== version) {
            version = now;
            cache.apply({ kind: 'all' });
          }
        })
        .catch(() => {})
        .finally(() => {
          polling = false;
        });
    }, CHANGES_POLL_MS);
    timer.unref();
    channels.push('sqlite');
    stops.push(async () => clearInterval(timer));
  }

  return {
    channels,
    async stop() {
      for (const stop of stops) await stop();
    },
  };
}
