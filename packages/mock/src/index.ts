/**
 * @latchkey/mock: a stateful mock of the Latchkey API for consumers' tests.
 *
 * `createLatchkeyMock` / `createLatchkeyHandlers` give msw handlers that run the server's
 * own rules (`@latchkey/core`) over an in-memory store; `scenarios` give overrides; `@latchkey/mock/node` and
 * `@latchkey/mock/browser` set msw up; `@latchkey/mock/server` serves the mock over HTTP.
 */
export type { CookieSameSite } from './http/fetch-adapter.js';
export { type MockExchange, observeResponses } from './http/observe.js';
export {
  createLatchkeyHandlers,
  createLatchkeyMock,
  type LatchkeyMock,
  type LatchkeyMockOptions,
  type MockConfig,
} from './mock.js';
export { type ScenarioTarget, scenarios } from './scenarios.js';
export {
  DEFAULT_SEED_PASSWORD,
  type SeededData,
  type SeededKey,
  type SeededUser,
  type SeedSpec,
} from './seed.js';
