import type { Server } from 'node:http';
import { createApp } from '../app.js';
import type { Config } from '../config/config.js';
import type { CliIo } from './cli.js';
import { trackRequests } from './shutdown.js';

/** What the first start on an empty database prints: the ways to get a first credential. */
export function bootstrapHelp(origin: string): string[] {
  return [
    'No user and no key exist yet. Bootstrap this server in one of these ways:',
    `  - register your first key (at least 32 characters; it belongs to a new superuser "admin"):`,
    `      curl -X POST ${origin}/api/v1/auth/register-key -H 'Content-Type: application/json' -d '{"api_key": "<your key>", "label": "first-key"}'`,
    '  - or create a superuser with a password: pnpm latchkey createsuperuser',
    '  - or set LATCHKEY_ADMIN_USERNAME and LATCHKEY_ADMIN_PASSWORD and restart.',
  ];
}

/**
 * Starts the server and keeps it running until SIGINT or SIGTERM. Then it stops accepting
 * connections, lets requests under way finish (up to LATCHKEY_SHUTDOWN_TIMEOUT_S), writes
 * buffered last-used times, stops the usage writer, closes Redis and the database, logs
 * each step and exits 0. A second signal exits at once with 1.
 */
export async function serve(config: Config, io: CliIo): Promise<Server> {
  const app = await createApp(config);
  const server = app.koa.listen(config.port, config.host);
  const requests = trackRequests(server);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const where = config.database.kind === 'sqlite' ? `SQLite ${config.database.file}` : 'Postgres';
  io.out(`Latchkey listening on http://${host}:${port} (${where})`);
  if ((await app.services.bootstrap.status()).needsBootstrap) {
    for (const line of bootstrapHelp(`http://${host}:${port}`)) io.out(line);
  }
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      app.logger.warn({ signal }, 'second signal during shutdown: exiting now');
      process.exit(1);
    }
    stopping = true;
    app.logger.info({ signal }, 'shutting down');
    void (async () => {
      try {
        await requests.drain(config.shutdownTimeoutS * 1000, app.logger);
        await app.close();
        process.exit(0);
      } catch (err) {
        app.logger.error({ err }, 'shutdown failed');
        process.exit(1);
      }
    })();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return server;
}
