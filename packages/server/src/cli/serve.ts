import cluster from 'node:cluster';
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { createApp } from '../app.js';
import { runPrimary, WorkersFailedError } from '../cluster/cluster-primary.js';
import { connectToPrimary } from '../cluster/cluster-worker.js';
import { type Config, loadConfig, unknownVariableWarnings } from '../config/config.js';
import { createLogger, defaultLogFormat, flushLogs } from '../logger.js';
import { CliError } from './cli-error.js';
import type { CliIo } from './io.js';
import { trackRequests } from './shutdown.js';

/** What the first start on an empty database says: the ways to get a first credential. */
export function bootstrapHelp(origin: string): string {
  return [
    'No user and no key exist yet. Bootstrap this server in one of these ways:',
    '  - register your first key (at least 32 characters; it belongs to a new superuser "admin"):',
    `      curl -X POST ${origin}/api/v1/auth/register-key -H 'Content-Type: application/json' -d '{"api_key": "<your key>", "label": "first-key"}'`,
    '  - or create a superuser with a password: pnpm latchkey createsuperuser',
    '  - or set LATCHKEY_ADMIN_USERNAME and LATCHKEY_ADMIN_PASSWORD and restart.',
  ].join('\n');
}

/** Why the server cannot listen, and the setting that changes it. */
export function listenProblem(err: unknown, config: Config): string {
  const code = (err as { code?: unknown }).code;
  switch (code) {
    case 'EADDRINUSE':
      return `port ${config.port} on ${config.host} is already in use; stop what listens there, or choose another port with LATCHKEY_PORT or --port (0 picks a free one)`;
    case 'EACCES':
      return `this user may not listen on port ${config.port} (ports below 1024 need privileges); choose another port with LATCHKEY_PORT or --port`;
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot listen on ${config.host}: it is not an address of this machine; set LATCHKEY_HOST or --host (127.0.0.1, 0.0.0.0 or ::)`;
    default:
      return `cannot listen on ${config.host}:${config.port} (${err instanceof Error ? err.message : String(err)}); check LATCHKEY_HOST and LATCHKEY_PORT (--host, --port)`;
  }
}

/** The start-up banner: where the server listens, its database, and how to bootstrap it. */
function showBanner(
  logger: Logger,
  config: Config,
  origin: string,
  needsBootstrap: boolean,
  workers: number,
): void {
  const database = config.database.kind === 'sqlite' ? `SQLite ${config.database.file}` : 'Postgres';
  const with_ = workers > 1 ? ` with ${workers} workers` : '';
  logger.info(
    { url: origin, database, docs: `${origin}/docs`, ...(workers > 1 ? { workers } : {}) },
    `Latchkey listening on ${origin} (${database})${with_}; API reference at ${origin}/docs`,
  );
  if (needsBootstrap) logger.info(bootstrapHelp(origin));
}

/**
 * Starts the server and keeps it running until SIGINT or SIGTERM. Then it stops accepting
 * connections, lets requests under way finish (up to LATCHKEY_SHUTDOWN_TIMEOUT_S), writes
 * buffered last-used times, stops the usage writer, closes Redis and the database, logs
 * each step and exits 0. A second signal exits at once with 1.
 *
 * With LATCHKEY_WORKERS (--workers) above 1 this process becomes the primary of a
 * node:cluster (see cluster-primary.ts), and each worker runs this same function: it hands
 * its key usage to the primary, counts rate limits there (without Redis), and stops when the
 * primary asks.
 */
export async function serve(
  io: CliIo,
  overrides: Partial<Record<keyof Config, string>>,
): Promise<Server | undefined> {
  const config = loadConfig(io.env, overrides);
  const base = createLogger(config.logLevel, config.logFormat ?? defaultLogFormat(), undefined, {
    buffered: true,
  });
  const primary = cluster.isWorker ? connectToPrimary() : undefined;
  // A worker's lines say which worker wrote them.
  const logger = cluster.worker ? base.child({ worker: cluster.worker.id }) : base;
  if (!primary) for (const warning of unknownVariableWarnings(io.env)) logger.warn(warning);
  if (!primary && config.workers > 1) {
    try {
      await runPrimary({
        config,
        logger,
        banner: ({ origin, needsBootstrap }, workers) => {
          showBanner(logger, config, origin, needsBootstrap, workers);
          void flushLogs(logger);
        },
      });
    } catch (err) {
      logger.error({ err: (err as Error).message }, 'could not start the workers');
      await flushLogs(logger);
      throw err instanceof WorkersFailedError ? new CliError(err.message) : err;
    }
    await flushLogs(logger);
    process.exit(process.exitCode ?? 0);
  }
  let app: Awaited<ReturnType<typeof createApp>>;
  try {
    app = await createApp(config, {
      logger,
      ...(primary ? { clusterWorker: { sendUsage: (entries) => primary.sendUsage(entries) } } : {}),
    });
  } catch (err) {
    await flushLogs(logger);
    throw err;
  }
  const server = app.koa.listen(config.port, config.host);
  const requests = trackRequests(server);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
  } catch (err) {
    await app.close();
    await flushLogs(logger);
    throw new CliError(listenProblem(err, config));
  }
  // Before the banner: a signal that comes once it is shown stops the server gracefully.
  let stopping = false;
  const stop = (signal: NodeJS.Signals | 'primary') => {
    if (stopping) {
      // A worker gets Ctrl-C's SIGINT and its primary's request to stop: one shutdown. A
      // second Ctrl-C reaches the primary, which kills the workers.
      if (primary && process.connected) return;
      logger.warn({ signal }, 'second signal during shutdown: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    if (primary) {
      // Without its primary (killed), a worker's listening socket cannot be closed cleanly:
      // whatever happens, it exits once requests under way had their time.
      setTimeout(
        () => {
          logger.warn('the worker did not stop in time: exiting now');
          void flushLogs(logger).then(() => process.exit(1));
        },
        config.shutdownTimeoutS * 1000 + 5000,
      ).unref();
    }
    void (async () => {
      try {
        await requests.drain(config.shutdownTimeoutS * 1000, logger);
        await app.close();
        await flushLogs(logger);
        process.exit(0);
      } catch (err) {
        logger.error({ err }, 'shutdown failed');
        await flushLogs(logger);
        process.exit(1);
      }
    })();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  primary?.onStop(() => stop('primary'));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const origin = `http://${host}:${port}`;
  const needsBootstrap = (await app.services.bootstrap.status()).needsBootstrap;
  if (primary) primary.listening({ origin, needsBootstrap });
  else showBanner(logger, config, origin, needsBootstrap, 1);
  // Start-up lines are shown at once; request lines then go through the buffer.
  await flushLogs(logger);
  return server;
}
