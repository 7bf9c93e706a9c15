import { type SetupWorker, setupWorker } from 'msw/browser';
import { createLatchkeyMock, type LatchkeyMock, type LatchkeyMockOptions } from './mock.js';

export * from './index.js';

/**
 * A msw service worker for the browser with a Latchkey mock installed. Serve msw's
 * `mockServiceWorker.js` (`npx msw init public/`), then `await worker.start()`.
 *
 * @example
 * ```ts
 * import { setupLatchkeyWorker } from '@latchkey/mock/browser';
 *
 * const { worker, mock } = setupLatchkeyWorker({ baseUrl: 'https://latchkey.example.com', seed: { users: [{ username: 'demo' }] } });
 * await worker.start({ onUnhandledRequest: 'bypass' });
 * ```
 */
export function setupLatchkeyWorker(options: LatchkeyMockOptions): {
  worker: SetupWorker;
  mock: LatchkeyMock;
} {
  const mock = createLatchkeyMock(options);
  return { worker: setupWorker(...mock.handlers), mock };
}
