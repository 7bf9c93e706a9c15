/**
 * @latchkey/core: the rules the Latchkey server and the mock both run, in one browser-safe
 * place. Services over a narrow storage interface (`Store`), the request pipeline over the
 * contract, the problem codes and their one error class, and the shape of a key. The server
 * plugs in Kysely storage and Node ports; the mock plugs in `MemoryStore` and Web Crypto.
 */
export { ApiError, type FieldError, PROBLEM_BOUNDS, type Problem, toProblem } from './api-error.js';
export {
  type Actor,
  AUDIT_ACTIONS,
  type AuditAction,
  type AuditEvent,
  type AuditFilter,
  type AuditOutcome,
  type AuditTargetType,
  anonymousActor,
  CLI_ACTOR,
  SYSTEM_ACTOR,
} from './audit/audit.record.js';
export type { AuditEntry, AuditService } from './audit/audit.service.js';
export {
  Authenticator,
  BAD_CREDENTIAL,
  constantTimeEqual,
  type RequestFacts,
  wwwAuthenticate,
} from './auth/authenticator.js';
export {
  AUTH_METHODS,
  type AuthMethod,
  type CredentialSource,
  CSRF_COOKIE,
  CSRF_HEADER,
  looksLikeJwt,
  type Presented,
  type Principal,
  QUERY_KEY_PARAM,
  SESSION_COOKIE,
} from './auth/credential.js';
export { type CredentialFinderOptions, credentialFinder } from './auth/credential-finder.js';
export { SWITCH_OF } from './auth/strategies.js';
export {
  BOOTSTRAP_USERNAME,
  type BootstrapService,
  type BootstrapStatus,
  bootstrapStatus,
  DEFAULT_BOOTSTRAP_LABEL,
} from './bootstrap/bootstrap.service.js';
export {
  AUTH_METHOD_SWITCHES,
  type AuthMethodSwitch,
  COOKIE_SAME_SITE,
  type CookieSameSite,
  cookieSettingsProblem,
  DEFAULT_RULES,
  LIMITS,
  type RulesConfig,
} from './config.js';
export { inspectBody } from './contract/body.js';
export { handlerCoverage } from './contract/coverage.js';
export {
  ContractRouter,
  declaredResponse,
  listOperations,
  mswPath,
  type OperationSpec,
  pathMatcher,
  type RouteMatch,
} from './contract/operations.js';
export type { ContractDocument, HttpMethod, JsonSchema } from './contract/types.js';
export { ContractValidator, fieldErrors } from './contract/validation.js';
export { CORE_HANDLERS, type Core, type CoreOptions, type CoreServices, createCore } from './core.js';
export { ERROR_CODES, type ErrorCode } from './error-codes.js';
export { CONTRACT } from './generated/contract.gen.js';
export {
  CORS_ALLOWED_METHODS,
  CORS_EXPOSED_HEADERS,
  CORS_MAX_AGE_S,
  CORS_REQUEST_HEADERS,
  type CorsPolicy,
  checkCorsOrigin,
  corsPolicy,
} from './http/cors-policy.js';
export { FORWARD_OPERATIONS, originalRequest, passesAnonymously } from './http/forward.js';
export {
  boolParam,
  type CookieSpec,
  caller,
  type Handler,
  type HandlerContext,
  type HandlerResult,
  pageBody,
  pageOf,
} from './http/handler.js';
export {
  type IncomingBody,
  type IncomingRequest,
  NO_BODY,
  type OutgoingResponse,
  PASSWORD_OPERATIONS,
  Pipeline,
  PROBLEM_JSON,
  UNLIMITED_OPERATIONS,
} from './http/pipeline.js';
export { parseQuery } from './http/query.js';
export { isJsonType, mediaType, readJsonBody } from './http/read-body.js';
export { MAX_REQUEST_ID_LENGTH, REQUEST_ID_HEADER, requestIdOf } from './http/request-id.js';
export {
  type KeyOrigin,
  type KeyRecord,
  type KeyView,
  type RateLimitSetting,
  toKeyView,
} from './keys/key.record.js';
export {
  checkKey,
  isoAt,
  type KeyCheck,
  type KeyPatch,
  type NewKey,
  narrowKey,
  newKeyRecord,
  planRotation,
} from './keys/key.rules.js';
export type { CreatedKey, KeyInput, KeyScope, KeyService, VerifyResult } from './keys/key.service.js';
export {
  CHECKSUM_LENGTH,
  checksum,
  crc32,
  generateKey,
  inspectKey,
  type KeyShape,
  keyStart,
  MAX_KEY_LENGTH,
  MIN_SUPPLIED_KEY_LENGTH,
  RANDOM_LENGTH,
  randomBase62,
  suppliedKeyProblem,
} from './keys/key-format.js';
export { createMemoryDeps } from './memory.js';
export {
  canonicalAddress,
  ipAllowed,
  ipFamily,
  normaliseIpRule,
  parseIpRules,
  resolveClientIp,
  stripMappedV4,
} from './net/ip-rules.js';
export {
  type CachedSession,
  type Clock,
  type CoreEvent,
  type CredentialCache,
  type ErrorReporter,
  type Invalidation,
  type Lockout,
  type LockoutStore,
  type LockState,
  NO_CACHE,
  type OutgoingWebhook,
  type PasswordHasher,
  type RequestCounter,
  type SecretBox,
  type UsageRecorder,
  type WebhookAnswer,
  type WebhookNetwork,
  type WindowCount,
} from './ports.js';
export { MemoryLockoutStore, MemoryRequestCounter } from './protection/memory-counters.js';
export type { ProtectionService } from './protection/protection.service.js';
export { decideRateLimit, type RateLimitDecision, type RateLimitPolicy } from './protection/rate-limit.js';
export { createWebCryptoSecrets, WEB_CRYPTO_PASSWORDS } from './secrets/web-crypto-secrets.js';
export type { ServiceDeps } from './services.js';
export type { FoundSession, SessionRecord } from './sessions/session.record.js';
export { randomToken, type SessionService } from './sessions/session.service.js';
export { MemoryStore } from './store/memory-store.js';
export type {
  AuditRepository,
  DeliveryChange,
  KeyChange,
  KeyFilter,
  KeyRepository,
  KeyWithOwner,
  Page,
  PageOf,
  SessionRepository,
  Store,
  TransactionOptions,
  UsageEntry,
  UserChange,
  UserFilter,
  UserRepository,
  WebhookRepository,
} from './store/store.js';
export { COMMON_PASSWORDS } from './users/common-passwords.js';
export { removesLastSuperuser } from './users/last-superuser.js';
export {
  checkNewUser,
  MAX_PASSWORD_LENGTH,
  passwordProblem,
  usernameProblem,
} from './users/password-policy.js';
export {
  newUserRecord,
  toUserView,
  USER_FLAGS,
  type UserFlags,
  type UserRecord,
  type UserView,
} from './users/user.record.js';
export type { NewUser, UserService } from './users/user.service.js';
export { fetchWebhookNetwork } from './webhooks/fetch-network.js';
export {
  type AttemptOutcome,
  type AttemptRecord,
  type ClaimedDelivery,
  type DeliveryRecord,
  type DeliveryStatus,
  type DeliveryView,
  type DeliveryWithAttempts,
  toDeliveryView,
  toWebhookView,
  type WebhookChange,
  type WebhookEventRecord,
  type WebhookRecord,
  type WebhookView,
} from './webhooks/webhook.record.js';
export {
  BACKOFF_FACTOR,
  type DeliveryDecision,
  decideAfterAttempt,
  MAX_LOGGED_BODY,
  MAX_READ_BODY_BYTES,
  retryDelayMs,
  truncateBody,
} from './webhooks/webhook.rules.js';
export {
  DEFAULT_SECRET_GRACE_S,
  describeUrl,
  expiryThresholds,
  WEBHOOK_USER_AGENT,
  type WebhookInput,
  type WebhookPatch,
  type WebhookService,
  type WebhookWithSecret,
} from './webhooks/webhook.service.js';
export { WebhookWorker, type WebhookWorkerOptions } from './webhooks/webhook.worker.js';
export {
  eventBody,
  type KeyEventData,
  keyEventData,
  TEST_EVENT_TYPE,
  type UserEventData,
  userEventData,
  WEBHOOK_EVENT_TYPES,
  type WebhookEventData,
  type WebhookEventType,
  type WebhookPayload,
} from './webhooks/webhook-events.js';
export { newMessageId, type WebhookOutbox } from './webhooks/webhook-outbox.js';
export {
  generateWebhookSecret,
  SECRET_PREFIX,
  signature,
  signatureHeaders,
} from './webhooks/webhook-signature.js';
export {
  addressProblem,
  checkWebhookUrl,
  parseAllowedHosts,
  resolveWebhookTarget,
  type TargetPolicy,
  type TargetResolution,
  type UrlCheck,
} from './webhooks/webhook-target.js';
