import { type SetupServer, setupServer } from 'msw/node';
import { createLatchkeyMock, type LatchkeyMock, type LatchkeyMockOptions } from './mock.js';

export * from './index.js';

/**
 * A msw server for Node (tests in vitest or jest) with a Latchkey mock installed. Call
 * `server.listen()` before the tests, `server.resetHandlers()` after each, `server.close()` at the end.
 *
 * @example
 * ```ts
 * import { setupLatchkeyServer } from '@latchkey/mock/node';
 *
 * const { server, mock } = setupLatchkeyServer({ baseUrl: 'http://latchkey.test', seed: { users: [{ username: 'alice' }] } });
 * beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
 * afterEach(() => { server.resetHandlers(); mock.reset(); });
 * afterAll(() => server.close());
 * ```
 */
export function setupLatchkeyServer(options: LatchkeyMockOptions): {
  server: SetupServer;
  mock: LatchkeyMock;
} {
  const mock = createLatchkeyMock(options);
  return { server: setupServer(...mock.handlers), mock };
}
