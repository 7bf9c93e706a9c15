/**
 * The contract's operations as standalone functions, for bundles that keep only what they
 * import. Pass the `http` of a client made by `createLatchkeyClient` as `client`, so that
 * credentials, rate limits and errors are handled:
 *
 * @example
 * ```ts
 * import { createLatchkeyClient } from '@latchkey/client';
 * import { whoami } from '@latchkey/client/operations';
 *
 * const latchkey = createLatchkeyClient({ baseUrl, credentials: { apiKey } });
 * const { data } = await whoami({ client: latchkey.http });
 * ```
 */
export * from './generated/sdk.gen.js';
