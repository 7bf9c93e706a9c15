import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { Storage } from '../db/database.js';
import type { AuthCache, Invalidation } from './auth-cache.js';

/** How invalidations reach this instance from other processes. */
export interface InvalidationBus {
  /** `redis` (pub/sub), `sqlite` (the file's change log, for other processes on the box) or both. */
  readonly channels: string[];
  stop(): Promise<void>;
}

const CHANGES_POLL_MS = 250;
/** More new changes than this in one poll are a bulk change: everything is forgotten. */
const CHANGES_PER_POLL = 500;
/** Rows of the change log older than this are deleted, once a minute. */
const KEEP_CHANGES_MS = 10 * 60_000;
const PRUNE_EVERY_MS = 60_000;

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
 * - on a SQLite file, triggers log which key, user or session changed, whatever the
 *   connection (the CLI's, a shell's, this server's own), but not the last-used times that
 *   the usage writer thread records; new rows are read every 250 ms and each forgets what
 *   it names (this server's own changes were forgotten already, at once).
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
    const highest = async () =>
      Number(
        (
          await sql<{ seq: number | null }>`select max(seq) as seq from credential_changes`.execute(
            storage.db,
          )
        ).rows[0]?.seq ?? 0,
      );
    let seen = await highest();
    let prunedAt = Date.now();
    const poll = async () => {
      const { rows } = await sql<{ seq: number; kind: string; ref: string }>`
        select seq, kind, ref from credential_changes where seq > ${seen} order by seq limit ${CHANGES_PER_POLL}`.execute(
        storage.db,
      );
      if (rows.length === CHANGES_PER_POLL) {
        // A bulk change: forget everything. The highest number is read first, so that every
        // change up to it committed before the cache was emptied.
        const upTo = await highest();
        cache.apply({ kind: 'all' });
        seen = upTo;
      } else {
        for (const row of rows) {
          const change = { kind: row.kind, id: row.ref };
          cache.apply(isInvalidation(change) ? change : { kind: 'all' });
          seen = row.seq;
        }
      }
      if (Date.now() - prunedAt >= PRUNE_EVERY_MS) {
        prunedAt = Date.now();
        const before = new Date(prunedAt - KEEP_CHANGES_MS).toISOString();
        await sql`delete from credential_changes where at < ${before}`.execute(storage.db);
      }
    };
    let polling = false;
    const timer = setInterval(() => {
      if (polling) return;
      polling = true;
      poll()
        .catch((err) => logger.warn({ err: (err as Error).message }, 'could not read credential changes'))
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
