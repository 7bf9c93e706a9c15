import { bodyParser } from '@koa/bodyparser';
import Koa from 'koa';
import type { OpenAPIBackend, Operation, Request } from 'openapi-backend';
import type { Logger } from 'pino';
import { AuditService } from './audit/audit.service.js';
import { Authenticator } from './auth/authenticator.js';
import { AuthCache } from './cache/auth-cache.js';
import { BoundedMap } from './cache/bounded-map.js';
import { connectInvalidationBus, type InvalidationBus } from './cache/invalidation-bus.js';
import { WriteWatcher } from './cache/write-watcher.js';
import type { Config } from './config/config.js';
import { openStorage, type Storage } from './db/database.js';
import { migrateToLatest } from './db/migrator.js';
import { HANDLERS } from './handlers/index.js';
import { createContractBackend, readContract } from './http/contract.js';
import { problemMiddleware } from './http/problem.js';
import { requestContext } from './http/request-context.js';
import { requestLog } from './http/request-log.js';
import { responseContractCheck } from './http/response-check.js';
import { contractRouter } from './http/router.js';
import { KeyService } from './keys/key.service.js';
import { createLogger } from './logger.js';
import { type Metrics, NO_METRICS, PrometheusMetrics } from './metrics/metrics.js';
import { requestMetrics } from './metrics/metrics.middleware.js';
import { htmlDelivery } from './pages/html-delivery.js';
import { Protection } from './protection/protection.js';
import { loadSecrets } from './secrets/secrets.js';
import type { Services } from './services.js';
import { SessionService } from './sessions/session.service.js';
import { BootstrapService } from './users/bootstrap.service.js';
import { UserService } from './users/user.service.js';

export interface AppOptions {
  logger?: Logger;
  /** Check every response against the contract (tests). */
  validateResponses?: boolean;
}

export interface LatchkeyApp {
  koa: Koa;
  services: Services;
  config: Config;
  logger: Logger;
  /** Writes buffered key usage now. */
  flushUsage(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Two results of openapi-backend that depend only on what is known before the request
 * arrives, remembered instead of recomputed per request (they were a third of the CPU
 * time of an authenticated GET in a profile):
 * - the operation matched by a method and path, for up to 1000 method-path pairs;
 * - the validation of a request to an operation without parameters or body that carries
 *   no query string: nothing can fail, so the answer is "valid" with nothing coerced.
 */
function speedUpContract(api: OpenAPIBackend): void {
  const match = api.matchOperation.bind(api);
  const matched = new BoundedMap<Operation | undefined>(1000, Number.POSITIVE_INFINITY);
  api.matchOperation = ((req: Request) => {
    const id = `${req.method.toLowerCase()} ${req.path}`;
    let found = matched.get(id);
    if (found === undefined) {
      found = match(req) as Operation | undefined;
      matched.set(id, found);
    }
    return found;
  }) as typeof api.matchOperation;
  const validate = api.validateRequest.bind(api);
  const trivial = new Set<string>();
  for (const op of api.getOperations()) {
    if (op.operationId && !op.requestBody && !(op.parameters ?? []).length) trivial.add(op.operationId);
  }
  api.validateRequest = ((req: Request, operation?: Operation) => {
    const query = req.query as Record<string, unknown> | undefined;
    if (
      operation?.operationId &&
      trivial.has(operation.operationId) &&
      (!query || Object.keys(query).length === 0)
    ) {
      return { valid: true, errors: null, coerced: {} };
    }
    return validate(req, operation);
  }) as typeof api.validateRequest;
}

/**
 * Builds the Latchkey app without listening: opens storage, applies migrations, loads
 * or generates the secrets and creates the first superuser when configured.
 */
export async function createApp(config: Config, options: AppOptions = {}): Promise<LatchkeyApp> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const { secrets, generated } = loadSecrets(config.dataDir, {
    pepper: config.keyPepper,
    jwtSecret: config.jwtSecret,
  });
  if (generated)
    logger.info({ dataDir: config.dataDir }, 'generated a new pepper and JWT secret in the data folder');

  const storage: Storage = await openStorage(config.database);
  try {
    await migrateToLatest(storage);
  } catch (err) {
    await storage.close();
    throw err;
  }

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
    await storage.close();
    throw new Error(`Could not connect to Redis at LATCHKEY_REDIS_URL: ${(err as Error).message}`, {
      cause: err,
    });
  }
  // The services write through `db` and invalidate exactly what they change; everyone else
  // (the CLI's plain SQL, scripts, tests) gets a handle whose writes forget everything.
  const db = storage.db;
  storage.db = db.withPlugin(new WriteWatcher(() => cache.invalidate({ kind: 'all' })));
  const users = new UserService(db, config.passwordMinLength, cache);
  const keys = new KeyService(
    db,
    secrets,
    config.keyPrefix,
    (err) => logger.error({ err }, 'could not write key usage'),
    cache,
    // On a SQLite file, key usage is written by a worker thread.
    config.database,
  );
  const sessions = new SessionService(db, secrets, config.jwtTtlSeconds, cache);
  const authenticator = new Authenticator(config, { keys, sessions, users });
  const audit = new AuditService(storage.db, logger);
  const metrics: Metrics =
    config.metrics.mode === 'off'
      ? NO_METRICS
      : new PrometheusMetrics({
          cacheLookups: () => cache.lookups,
          cacheEntries: () => {
            const { keys: key, sessions: session, basic } = cache.sizes();
            return { key, session, basic };
          },
          usageBacklog: () => keys.usage.backlog,
        });
  let protection: Protection;
  try {
    protection = await Protection.create(config, audit, logger, metrics);
  } catch (err) {
    await bus.stop();
    await storage.close();
    throw new Error(`Could not connect to Redis at LATCHKEY_REDIS_URL: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const document = readContract();
  const services: Services = {
    storage,
    users,
    keys,
    sessions,
    authenticator,
    bootstrap: new BootstrapService(storage.db, keys),
    audit,
    protection,
    metrics,
    document: document as unknown as Record<string, unknown>,
  };

  if (config.adminUsername && config.adminPassword) {
    const admin = await users.ensureAdmin(config.adminUsername, config.adminPassword);
    if (admin) logger.info({ username: admin.username }, 'created the first superuser from the environment');
  }
  await sessions.prune();

  const api = await createContractBackend(document);
  speedUpContract(api);
  const koa = new Koa({ proxy: false });
  koa.silent = true;
  koa.use(requestContext());
  koa.use(requestLog(logger));
  if (metrics.enabled) koa.use(requestMetrics(metrics));
  koa.use(htmlDelivery());
  if (options.validateResponses) koa.use(responseContractCheck(api));
  koa.use(problemMiddleware(logger));
  koa.use(
    bodyParser({
      enableTypes: ['json'],
      jsonLimit: config.maxBodyBytes,
      encoding: 'utf-8',
      jsonStrict: true,
    }),
  );
  koa.use(contractRouter(api, HANDLERS, services, config));

  keys.usage.start(config.usageFlushMs);
  let closed = false;
  return {
    koa,
    services,
    config,
    logger,
    flushUsage: () => keys.usage.flush(),
    async close() {
      if (closed) return;
      closed = true;
      await keys.usage.stop();
      await bus.stop();
      await protection.close();
      await storage.close();
    },
  };
}
