import { adminHandlers } from './admin.handlers.js';
import { authHandlers } from './auth.handlers.js';
import type { Handler } from './handler.js';
import { keysHandlers } from './keys.handlers.js';
import { metaHandlers } from './meta.handlers.js';

/** Every operation's handler, keyed by operationId; one module per tag of the contract. */
export const HANDLERS: Record<string, Handler> = {
  ...metaHandlers,
  ...authHandlers,
  ...keysHandlers,
  ...adminHandlers,
};
