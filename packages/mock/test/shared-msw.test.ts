// The shared scenarios against the mock through msw in this process, as a consumer's
// vitest suite would use it.
import { afterAll, afterEach, beforeAll } from 'vitest';
import { sharedScenarios } from './shared/scenarios.js';
import { mswServer, startMswMock } from './support/mock-targets.js';

beforeAll(() => mswServer.listen({ onUnhandledRequest: 'error' }));
afterEach(() => mswServer.resetHandlers());
afterAll(() => mswServer.close());

sharedScenarios('msw mock', startMswMock);
