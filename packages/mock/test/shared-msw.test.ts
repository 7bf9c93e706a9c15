import { CLI_ACTOR } from '@latchkey/core';
// The shared scenarios against the mock through msw in this process, as a consumer's
// vitest suite would use it.
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { createLatchkeyMock } from '../src/mock.js';
import { sharedScenarios } from './shared/scenarios.js';
import { ADMIN } from './shared/target.js';

const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

let n = 0;
sharedScenarios('msw mock', async (settings) => {
  const mock = createLatchkeyMock({
    baseUrl: `http://latchkey-${++n}.test`,
    seed: { users: [{ ...ADMIN, is_superuser: true }] },
    config: {
      ...(settings.rateLimit ? { rateLimit: settings.rateLimit } : {}),
      ...(settings.lockoutAttempts ? { lockoutAttempts: settings.lockoutAttempts } : {}),
    },
  });
  server.use(...mock.handlers);
  return {
    baseUrl: mock.baseUrl,
    fetch: (input, init) => globalThis.fetch(input, init),
    clearLockout: async (address) => {
      await mock.services.protection.clearLockout(CLI_ACTOR, address);
    },
    close: async () => {},
  };
});
