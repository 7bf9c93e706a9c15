import { CLI_ACTOR } from '@latchkey/core';
// The shared scenarios against the mock HTTP server (what `latchkey-mock --port 4010` runs),
// as a consumer in another language would reach it.
import { startMockServer } from '../src/http-server.js';
import { sharedScenarios } from './shared/scenarios.js';
import { ADMIN } from './shared/target.js';

sharedScenarios('mock HTTP server', async (settings) => {
  const running = await startMockServer({
    port: 0,
    seed: { users: [{ ...ADMIN, is_superuser: true }] },
    config: {
      ...(settings.rateLimit ? { rateLimit: settings.rateLimit } : {}),
      ...(settings.lockoutAttempts ? { lockoutAttempts: settings.lockoutAttempts } : {}),
    },
  });
  return {
    baseUrl: running.url,
    fetch: (input, init) => globalThis.fetch(input, init),
    clearLockout: async (address) => {
      await running.mock.services.protection.clearLockout(CLI_ACTOR, address);
    },
    close: () => running.close(),
  };
});
