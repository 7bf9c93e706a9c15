/**
 * @latchkey/client: the typed client for the Latchkey API.
 *
 * `createLatchkeyClient` is the entry point. The standalone operations, for bundles that
 * should keep only the operations they use, are in `@latchkey/client/operations`.
 */
export {
  createLatchkeyClient,
  type LatchkeyClient,
  type LatchkeyClientOptions,
  type LatchkeyClientState,
  type LatchkeyOperations,
} from './client.js';
export type { CredentialKind, Credentials, UsernamePassword } from './credentials.js';
export {
  AuthenticationError,
  type FieldError,
  LatchkeyError,
  NetworkError,
  PermissionError,
  RateLimitError,
  UnsupportedCredentialsError,
  ValidationError,
} from './errors.js';
export type { CredentialExpiringEvent } from './expiry.js';
export type * from './generated/types.gen.js';
export type { RateLimit } from './rate-limit.js';
export { permissionOf } from './security.js';
export type { RateLimitEvent } from './transport.js';
export {
  type VerifyWebhookOptions,
  verifyWebhook,
  type WebhookHeaders,
  WebhookVerificationError,
} from './webhooks.js';
