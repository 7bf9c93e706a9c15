import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { RateLimiterClusterMaster } from 'rate-limiter-flexible';
import type { Config } from '../config/config.js';
import { openStorage } from '../db/database.js';
import { KyselyStore } from '../db/kysely-store.js';
import { migrateToLatest } from '../db/migrator.js';
import { createUsageBuffer } from '../keys/usage.js';
import { loadSecrets } from '../secrets/secrets.js';
import { isWorkerMessage, type ListeningMessage, type PrimaryMessage } from './cluster-messages.js';

/** Time a stopping worker gets on top of LATCHKEY_SHUTDOWN_TIMEOUT_S to close its stores before it is killed. */
const WORKER_CLOSE_GRACE_MS = 15_000;
/** A worker that dies after start-up is replaced after this pause (no tight crash loop). */
const RESTART_DELAY_MS = 1000;

export interface PrimaryOptions {
  config: Config;
  logger: Logger;
  /** The banner, logged once every worker listens. */
  banner(listening: Omit<ListeningMessage, 'latchkey'>, workers: number): void;
}

/** Why the primary could not start its workers (the caller turns it into the command's error). */
export class WorkersFailedError extends Error {}

/**
 * The primary process of `latchkey serve --workers N`. Before any worker starts, it generates
 * the secrets (once, so that every worker has the same pepper) and applies the migrations.
 * Then it forks the workers, which share the port through node:cluster and the database
 * through their own connections, and it:
 * - counts the rate limits of all workers in its memory (rate-limiter-flexible's cluster
 *   master; with Redis the workers count there instead);
 * - takes every worker's buffered key usage and writes it, so that the usage writer runs once;
 * - replaces a worker that dies;
 * - on SIGTERM or SIGINT asks every worker to stop gracefully, waits for them, writes the
 *   usage they handed over, closes the database and exits 0. A second signal kills the
 *   workers and exits 1.
 */
export async function runPrimary({ config, logger, banner }: PrimaryOptions): Promise<void> {
  const { generated } = loadSecrets(config.dataDir, {
    pepper: config.keyPepper,
    jwtSecret: config.jwtSecret,
  });
  if (generated)
    logger.info({ dataDir: config.dataDir }, 'generated a new pepper and JWT secret in the data folder');
  const storage = await openStorage(config.database, { busyTimeoutMs: config.sqliteBusyTimeoutMs });
  try {
    await migrateToLatest(storage);
  } catch (err) {
    await storage.close();
    throw err;
  }
  const store = new KyselyStore(storage.db, () => storage.ping());
  const usage = createUsageBuffer(config.database, store.keys, (err) =>
    logger.error({ err }, 'could not write key usage'),
  );
  usage.start(config.usageFlushMs);
  if (!config.redisUrl) new RateLimiterClusterMaster();

  const send = (worker: Worker, message: PrimaryMessage) => {
    if (worker.isConnected()) worker.send(message);
  };
  let stopping = false;
  let started = false;
  const listening = new Set<number>();
  const all = new Set<Worker>();

  cluster.on('message', (worker, message: unknown) => {
    if (!isWorkerMessage(message)) return;
    if (message.latchkey === 'usage') {
      usage.merge(message.entries);
      send(worker, { latchkey: 'usage-taken', seq: message.seq });
    } else {
      listening.add(worker.id);
      if (!started && !stopping && listening.size === config.workers) {
        started = true;
        banner({ origin: message.origin, needsBootstrap: message.needsBootstrap }, config.workers);
      }
    }
  });

  const closeStores = async () => {
    logger.info('writing the last-used times the workers handed over and stopping the usage writer');
    await usage.stop();
    logger.info('closing the database');
    await storage.close();
  };

  let failedAtStart: ((err: Error) => void) | undefined;
  const fork = () => {
    const worker = cluster.fork();
    all.add(worker);
    worker.once('exit', (code, signal) => {
      all.delete(worker);
      listening.delete(worker.id);
      if (stopping) return;
      if (!started) {
        failedAtStart?.(
          new WorkersFailedError(`a worker exited before listening (${signal ?? `exit code ${code}`})`),
        );
        return;
      }
      logger.error(
        { worker: worker.process.pid, code, signal },
        `a worker stopped unexpectedly; starting another in ${RESTART_DELAY_MS / 1000} s`,
      );
      setTimeout(() => {
        if (!stopping) fork();
      }, RESTART_DELAY_MS);
    });
  };

  const everyWorkerExited = () =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (all.size === 0) resolve();
      };
      for (const worker of all) worker.once('exit', () => setImmediate(check));
      check();
    });

  const stopWorkers = async (timeoutMs: number) => {
    const exited = everyWorkerExited();
    // A worker that listens stops gracefully when asked. One still starting may not read
    // messages yet (they would be lost): a signal stops it, gracefully once it has its
    // handlers, at once before (it has answered nothing then).
    for (const worker of all) {
      if (listening.has(worker.id)) send(worker, { latchkey: 'shutdown' });
      else worker.process.kill('SIGTERM');
    }
    const late = setTimeout(() => {
      logger.warn({ workers: all.size }, 'workers still running after the shutdown timeout; killing them');
      for (const worker of all) worker.process.kill('SIGKILL');
    }, timeoutMs);
    await exited;
    clearTimeout(late);
  };

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal during shutdown: killing the workers and exiting now');
      for (const worker of all) worker.process.kill('SIGKILL');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal, workers: all.size }, 'shutting down: asking every worker to stop');
    void (async () => {
      try {
        await stopWorkers(config.shutdownTimeoutS * 1000 + WORKER_CLOSE_GRACE_MS);
        logger.info('every worker stopped');
        await closeStores();
        logger.info('closed');
        process.exitCode = 0;
      } catch (err) {
        logger.error({ err }, 'shutdown failed');
        process.exitCode = 1;
      }
      primaryStopped?.();
    })();
  };
  let primaryStopped: (() => void) | undefined;
  const done = new Promise<void>((resolve) => {
    primaryStopped = resolve;
  });
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  try {
    await new Promise<void>((resolve, reject) => {
      failedAtStart = reject;
      for (let i = 0; i < config.workers; i++) fork();
      // Every worker listens, or a signal came first (the stop below then takes over).
      const waitForListening = setInterval(() => {
        if (started || stopping) {
          clearInterval(waitForListening);
          resolve();
        }
      }, 20);
    });
  } catch (err) {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    stopping = true;
    await stopWorkers(WORKER_CLOSE_GRACE_MS);
    await closeStores();
    throw err;
  }
  failedAtStart = undefined;

  await done;
}
