import { bodyParser } from '@koa/bodyparser';
import Koa from 'koa';
import type { Logger } from 'pino';
import { AuditService } from './audit/audit.service.js';
import { Authenticator } from './auth/authenticator.js';
import type { Config } from './config/config.js';
import { openStorage, type Storage } from './db/database.js';
import { migrateToLatest } from './db/migrator.js';
import { HANDLERS } from './handlers/index.js';
import { createContractBackend, readContract } from './http/contract.js';
import { problemMiddleware } from './http/problem.js';
import { requestLog } from './http/request-log.js';
import { responseContractCheck } from './http/response-check.js';
import { contractRouter } from './http/router.js';
import { KeyService } from './keys/key.service.js';
import { createLogger } from './logger.js';
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

  const users = new UserService(storage.db, config.passwordMinLength);
  const keys = new KeyService(storage.db, secrets, config.keyPrefix, (err) =>
    logger.error({ err }, 'could not write key usage'),
  );
  const sessions = new SessionService(storage.db, secrets, config.jwtTtlSeconds);
  const authenticator = new Authenticator(config, { keys, sessions, users });
  const audit = new AuditService(storage.db, logger);
  let protection: Protection;
  try {
    protection = await Protection.create(config, audit, logger);
  } catch (err) {
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
    document: document as unknown as Record<string, unknown>,
  };

  if (config.adminUsername && config.adminPassword) {
    const admin = await users.ensureAdmin(config.adminUsername, config.adminPassword);
    if (admin) logger.info({ username: admin.username }, 'created the first superuser from the environment');
  }
  await sessions.prune();

  const api = await createContractBackend(document);
  const koa = new Koa({ proxy: false });
  koa.silent = true;
  koa.use(requestLog(logger));
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
      await protection.close();
      await storage.close();
    },
  };
}
