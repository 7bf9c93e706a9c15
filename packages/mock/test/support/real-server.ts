// The real server for the shared scenarios: createApp on a fresh SQLite database, with
// its own response check against the contract switched on.
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createApp, type LatchkeyApp, loadConfig } from '@latchkey/server';
import { ADMIN, type Target, type TargetSettings } from '../shared/target.js';

/** Starts the real server (createApp) on a fresh SQLite database with an ADMIN superuser (unless `empty`). */
export async function startRealServer(settings: TargetSettings = {}): Promise<Target & { app: LatchkeyApp }> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'latchkey-mock-shared-'));
  const config = loadConfig({
    LATCHKEY_DATA_DIR: dataDir,
    LATCHKEY_LOG_LEVEL: 'silent',
    ...(settings.empty
      ? {}
      : { LATCHKEY_ADMIN_USERNAME: ADMIN.username, LATCHKEY_ADMIN_PASSWORD: ADMIN.password }),
    ...(settings.authMethods ? { LATCHKEY_AUTH_METHODS: settings.authMethods.join(',') } : {}),
    ...(settings.rateLimit ? { LATCHKEY_RATE_LIMIT: String(settings.rateLimit) } : {}),
    ...(settings.lockoutAttempts ? { LATCHKEY_LOCKOUT_ATTEMPTS: String(settings.lockoutAttempts) } : {}),
    ...(settings.apiKeyHeaders ? { LATCHKEY_API_KEY_HEADERS: settings.apiKeyHeaders.join(',') } : {}),
    ...(settings.loginRequired === false ? { LATCHKEY_LOGIN_REQUIRED: 'false' } : {}),
    ...(settings.corsOrigins ? { LATCHKEY_CORS_ORIGINS: settings.corsOrigins.join(',') } : {}),
  });
  const app = await createApp(config, { validateResponses: true });
  const server = app.koa.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  return {
    app,
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    fetch: (input, init) => globalThis.fetch(input, init),
    clearLockout: async (address) => {
      await app.protection.lockouts.clear(address);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await app.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
