import type { Server } from 'node:http';
import { createApp } from '../app.js';
import type { Config } from '../config/config.js';
import type { CliIo } from './io.js';

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

/** Starts the server and keeps it running until SIGINT or SIGTERM. */
export async function serve(config: Config, io: CliIo): Promise<Server> {
  const app = await createApp(config);
  const server = app.koa.listen(config.port, config.host);
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
  const stop = () => {
    server.close();
    server.closeAllConnections();
    void app.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return server;
}
