import {
  CLI_ACTOR,
  type Clock,
  type Core,
  type CoreServices,
  createCore,
  type ServiceDeps,
  WebhookWorker,
} from '@latchkey/core';
import Koa from 'koa';
import type { Logger } from 'pino';
import { AuthCache } from './cache/auth-cache.js';
import { connectInvalidationBus, type InvalidationBus } from './cache/invalidation-bus.js';
import { WriteWatcher } from './cache/write-watcher.js';
import type { Config } from './config/config.js';
import { openStorage, type Storage } from './db/database.js';
import { KyselyStore } from './db/kysely-store.js';
import { migrateToLatest } from './db/migrator.js';
import { docsHandlers } from './handlers/docs.handlers.js';
import { metaHandlers } from './handlers/meta.handlers.js';
import { bodyReader } from './http/body-reader.js';
import { corsMiddleware } from './http/cors.js';
import { corePipeline } from './http/koa-adapter.js';
import { problemMiddleware } from './http/problem.js';
import { requestContext } from './http/request-context.js';
import { requestLog } from './http/request-log.js';
import { responseContractCheck } from './http/response-check.js';
import { createUsageBuffer } from './keys/usage.js';
import { UsageBuffer, type UsageEntry } from './keys/usage-buffer.js';
import { createLogger, defaultLogFormat } from './logger.js';
import { type Metrics, NO_METRICS, observeIn, PrometheusMetrics } from './metrics/metrics.js';
import { requestMetrics } from './metrics/metrics.middleware.js';
import { consoleDelivery } from './pages/console-delivery.js';
import { htmlDelivery } from './pages/html-delivery.js';
import { ProtectionStores } from './protection/protection.js';
import { nodeSecretBox } from './secrets/secret-box.js';
import { loadSecrets } from './secrets/secrets.js';
import { ARGON2_PASSWORDS } from './users/password.js';
import { nodeWebhookNetwork } from './webhooks/node-network.js';

export interface AppOptions {
  logger?: Logger;
  /** Check every response against the contract (tests). */
  validateResponses?: boolean;
  /**
   * Run the webhook worker (default true). The command line stores events in the outbox
   * without sending them: a running server sends them.
   */
  webhookWorker?: boolean;
  /** The rules' clock, in epoch ms (tests move it to reach keys' expiry); `Date.now` by default. */
  clock?: Clock;
  /** The web console's built files; `packages/console/dist` of the repository by default. */
  consoleDir?: URL | string;
  /**
   * This app is a worker of `latchkey serve --workers N`: key usage goes to the primary
   * process, which writes it (the usage writer runs once), and without Redis the rate limits
   * are counted by the primary.
   */
  clusterWorker?: { sendUsage: (entries: UsageEntry[]) => Promise<void> };
}

export interface LatchkeyApp {
  koa: Koa;
  /** The core's services: the one way into every feature. */
  services: CoreServices;
  core: Core;
  /** The database; writes through `storage.db` forget every cached credential. */
  storage: Storage;
  cache: AuthCache;
  usage: UsageBuffer;
  protection: ProtectionStores;
  /** The webhook worker; undefined when the app does not send webhooks (the command line). */
  webhooks: WebhookWorker | undefined;
  config: Config;
  logger: Logger;
  /** Writes buffered key usage now. */
  flushUsage(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Builds the Latchkey app without listening: opens storage, applies migrations, loads or
 * generates the secrets, plugs the server's storage and ports into the core's services and
 * pipeline, and creates the first superuser when configured.
 */
export async function createApp(config: Config, options: AppOptions = {}): Promise<LatchkeyApp> {
  const logger = options.logger ?? createLogger(config.logLevel, config.logFormat ?? defaultLogFormat());
  const { secrets, generated } = loadSecrets(config.dataDir, {
    pepper: config.keyPepper,
    jwtSecret: config.jwtSecret,
  });
  if (generated)
    logger.info({ dataDir: config.dataDir }, 'generated a new pepper and JWT secret in the data folder');

  const storage: Storage = await openStorage(config.database, { busyTimeoutMs: config.sqliteBusyTimeoutMs });
  const closers: (() => Promise<void>)[] = [
    async () => {
      logger.info('closing the database');
      await storage.close();
    },
  ];
  const closeAll = async () => {
    for (const close of closers.reverse()) await close();
  };
  try {
    await migrateToLatest(storage);

    // Without Redis, nothing tells this instance about another's writes on a shared Postgres:
    // entries then live at most 1 s, the bound the design gives for other instances.
    const noBus = config.database.kind === 'postgres' && !config.redisUrl;
    const cache = new AuthCache({
      maxEntries: config.authCacheSize,
      ttlMs: noBus ? Math.min(1000, config.authCacheTtlS * 1000) : config.authCacheTtlS * 1000,
    });
    let bus: InvalidationBus;
    try {
      bus = await connectInvalidationBus(
        cache,
        storage,
        {
          redisUrl: config.redisUrl,
          redisPrefix: config.redisPrefix,
          sqliteFile: config.database.kind === 'sqlite' ? config.database.file : undefined,
        },
        logger,
      );
    } catch (err) {
      throw new Error(`Could not connect to Redis at LATCHKEY_REDIS_URL: ${(err as Error).message}`, {
        cause: err,
      });
    }
    closers.push(async () => {
      logger.info('closing the cache invalidation channels');
      await bus.stop();
    });
    let protection: ProtectionStores;
    try {
      protection = await ProtectionStores.open(
        config,
        logger,
        storage.db,
        options.clusterWorker !== undefined,
      );
    } catch (err) {
      throw new Error(`Could not connect to Redis at LATCHKEY_REDIS_URL: ${(err as Error).message}`, {
        cause: err,
      });
    }
    closers.push(async () => {
      logger.info(config.redisUrl ? 'closing Redis' : 'stopping the lockout watcher');
      await protection.close();
    });

    // The services write through `db` and invalidate exactly what they change; everyone else
    // (scripts, tests) gets a handle whose writes forget everything.
    const db = storage.db;
    storage.db = db.withPlugin(new WriteWatcher(() => cache.invalidate({ kind: 'all' })));
    const store = new KyselyStore(db, () => storage.ping());
    const onUsageError = (err: unknown) => logger.error({ err }, 'could not write key usage');
    const usage = options.clusterWorker
      ? new UsageBuffer(options.clusterWorker.sendUsage, onUsageError)
      : createUsageBuffer(config.database, store.keys, onUsageError);
    const metrics: Metrics =
      config.metrics.mode === 'off'
        ? NO_METRICS
        : new PrometheusMetrics({
            cacheLookups: () => cache.lookups,
            cacheEntries: () => {
              const { keys: key, sessions: session, basic } = cache.sizes();
              return { key, session, basic };
            },
            usageBacklog: () => usage.backlog,
            webhookOutboxDepth: () => store.webhooks.countPending(),
          });
    const deps: ServiceDeps = {
      store,
      config,
      clock: options.clock ?? (() => Date.now()),
      secrets: nodeSecretBox(secrets),
      passwords: ARGON2_PASSWORDS,
      cache,
      usage,
      requests: protection.requests,
      lockouts: protection.lockouts,
      report: (message, detail) => logger.error(detail, message),
      webhooks: nodeWebhookNetwork({ connectTimeoutMs: config.webhookConnectTimeoutMs }),
      ...(metrics.enabled ? { observe: observeIn(metrics) } : {}),
    };
    const core = createCore(deps, {
      handlers: { ...docsHandlers, ...metaHandlers({ metrics, setting: config.metrics }) },
    });
    const { services } = core;

    if (config.adminUsername && config.adminPassword) {
      const admin = await services.users.ensureAdmin(CLI_ACTOR, config.adminUsername, config.adminPassword);
      if (admin)
        logger.info({ username: admin.username }, 'created the first superuser from the environment');
    }
    await services.sessions.prune();

    const koa = new Koa({ proxy: false });
    koa.silent = true;
    koa.use(requestContext());
    koa.use(requestLog(logger));
    if (metrics.enabled) koa.use(requestMetrics(metrics));
    // The console's files carry their own policy; the API's pages get theirs from htmlDelivery.
    koa.use(consoleDelivery(options.consoleDir));
    koa.use(htmlDelivery());
    if (options.validateResponses) koa.use(responseContractCheck(core));
    // Before everything that can answer, so that errors carry the CORS headers too.
    koa.use(corsMiddleware(config, logger));
    koa.use(problemMiddleware(logger));
    koa.use(bodyReader(config.maxBodyBytes));
    koa.use(corePipeline(core, config));

    usage.start(config.usageFlushMs);
    closers.push(async () => {
      logger.info('writing buffered last-used times and stopping the usage writer');
      await usage.stop();
    });
    const webhooks =
      options.webhookWorker === false
        ? undefined
        : new WebhookWorker(services.webhooks, {
            pollMs: config.webhookPollMs,
            expiryScanMs: config.webhookExpiryScanMs,
            retentionMs: config.webhookRetentionDays * 86_400_000,
            report: (message, detail) => logger.error(detail, message),
          });
    if (webhooks) {
      webhooks.start();
      // Closed first: attempts under way finish and are recorded while the database is open.
      closers.push(async () => {
        logger.info('stopping the webhook worker: no new deliveries, waiting for attempts under way');
        await webhooks.stop();
      });
    }
    let closed = false;
    return {
      koa,
      services,
      core,
      storage,
      cache,
      usage,
      protection,
      webhooks,
      config,
      logger,
      flushUsage: () => usage.flush(),
      async close() {
        if (closed) return;
        closed = true;
        await closeAll();
        logger.info('closed');
      },
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
