/**
 * @latchkey/core/credentials: what a service in front of Latchkey needs to read a request as
 * Latchkey reads it, without the contract, the services or their dependencies: where the
 * credential is, the client's address through trusted proxies, the permission grammar, and
 * the problem codes. `@latchkey/client`'s guard is built on it. Browser-safe.
 */
export { ApiError, type Problem, toProblem } from './api-error.js';
export { BAD_CREDENTIAL, wwwAuthenticate } from './auth/authenticator.js';
export {
  type CredentialSource,
  isSafeMethod,
  type KeyMethod,
  looksLikeJwt,
  type Presented,
  QUERY_KEY_PARAM,
} from './auth/credential.js';
export { type CredentialFinderOptions, credentialFinder } from './auth/credential-finder.js';
export { AUTH_METHOD_SWITCHES, type AuthMethodSwitch } from './config.js';
export { ERROR_CODES, type ErrorCode } from './error-codes.js';
export { parseQuery } from './http/query.js';
export { grants, missingPermissions, permissionProblem } from './keys/permissions.js';
export { canonicalAddress, resolveClientIp } from './net/ip-rules.js';
