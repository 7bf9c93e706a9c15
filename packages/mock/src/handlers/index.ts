import { adminHandlers } from './admin.js';
import { authHandlers } from './auth.js';
import type { MockHandler } from './context.js';
import { keysHandlers } from './keys.js';
import { metaHandlers } from './meta.js';

/** Every operation the mock implements, by operationId: one module per tag of the contract. */
export const OPERATION_HANDLERS: Readonly<Record<string, MockHandler>> = {
  ...metaHandlers,
  ...authHandlers,
  ...keysHandlers,
  ...adminHandlers,
};
