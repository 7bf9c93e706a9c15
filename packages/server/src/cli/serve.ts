import type { Server } from 'node:http';
import { createApp } from '../app.js';
import type { Config } from '../config/config.js';
import type { CliIo } from './cli.js';

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
  if ((await app.services.users.users.count()) === 0) {
    io.out(
      'No user exists yet. Create a superuser with `pnpm latchkey createsuperuser`, or set LATCHKEY_ADMIN_USERNAME and LATCHKEY_ADMIN_PASSWORD and restart.',
    );
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
