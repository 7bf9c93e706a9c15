// The shared scenarios against the real server.
import { sharedScenarios } from './shared/scenarios.js';
import { startRealServer } from './support/real-server.js';

sharedScenarios('real server (SQLite)', startRealServer);
