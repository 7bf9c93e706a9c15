// The two mock targets of the shared scenarios and the parity suite: the msw handlers in this
// process, and the mock HTTP server.
import { CLI_ACTOR } from '@latchkey/core';
import { setupServer } from 'msw/node';
import { startMockServer } from '../../src/http-server.js';
import { createLatchkeyMock } from '../../src/mock.js';
import { mockConfig, mockSeed, type Target, type TargetSettings } from '../shared/target.js';

/** The msw server the msw targets install their handlers on; the test file starts and stops it. */
export const mswServer = setupServer();

let n = 0;

/** The mock through msw, as a consumer's vitest suite uses it. */
export async function startMswMock(settings: TargetSettings = {}): Promise<Target> {
  const mock = createLatchkeyMock({
    baseUrl: `http://latchkey-${++n}.test`,
    seed: mockSeed(settings),
    config: mockConfig(settings),
  });
  mswServer.use(...mock.handlers);
  await mock.ready;
  return {
    baseUrl: mock.baseUrl,
    fetch: (input, init) => globalThis.fetch(input, init),
    clearLockout: async (address) => {
      await mock.services.protection.clearLockout(CLI_ACTOR, address);
    },
    close: async () => {},
  };
}

/** The mock HTTP server on a free port, as a consumer in another language reaches it. */
export async function startHttpMock(settings: TargetSettings = {}): Promise<Target> {
  const running = await startMockServer({
    port: 0,
    seed: mockSeed(settings),
    config: mockConfig(settings),
    ...(settings.corsOrigins ? { corsOrigins: settings.corsOrigins } : {}),
  });
  return {
    baseUrl: running.url,
    fetch: (input, init) => globalThis.fetch(input, init),
    clearLockout: async (address) => {
      await running.mock.services.protection.clearLockout(CLI_ACTOR, address);
    },
    close: () => running.close(),
  };
}
