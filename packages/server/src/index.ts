/** The server as a library: build the app without listening, for tests and embedding. */
export { type AppOptions, createApp, type LatchkeyApp } from './app.js';
export { type Config, ConfigError, loadConfig } from './config/config.js';
