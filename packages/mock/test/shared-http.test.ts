// The shared scenarios against the mock HTTP server (what `latchkey-mock --port 4010` runs),
// as a consumer in another language would reach it.
import { sharedScenarios } from './shared/scenarios.js';
import { startHttpMock } from './support/mock-targets.js';

sharedScenarios('mock HTTP server', startHttpMock);
