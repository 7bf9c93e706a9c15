/**
 * @latchkey/mock: a stateful mock of the Latchkey API for consumers' tests.
 *
 * `createLatchkeyMock` / `createLatchkeyHandlers` give msw handlers for every operation of
 * the contract; `scenarios` give overrides; `@latchkey/mock/node` and
 * `@latchkey/mock/browser` set msw up; `@latchkey/mock/server` serves the mock over HTTP.
 */
export { type MockExchange, observeResponses } from './http/observe.js';
export {
  createLatchkeyHandlers,
  createLatchkeyMock,
  type LatchkeyMock,
  type LatchkeyMockOptions,
} from './mock.js';
export { type ScenarioTarget, scenarios } from './scenarios.js';
export { DEFAULT_SEED_PASSWORD, type SeededData, type SeedSpec } from './seed.js';
export { DEFAULT_CONFIG, type MockConfig } from './store/config.js';
export { MockStore } from './store/store.js';
