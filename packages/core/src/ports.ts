// What the services need from their surroundings besides storage. The server gives Node
// implementations (HMAC with a pepper, argon2id, an in-memory cache invalidated over Redis,
// batched usage writes, rate-limiter-flexible); the mock gives Web Crypto ones.

import type { AuthMethod, Presented } from './auth/credential.js';
import type { FoundSession } from './sessions/session.record.js';
import type { KeyWithOwner } from './store/store.js';
import type { UserRecord } from './users/user.record.js';

/** Milliseconds since the epoch; tests can move it. */
export type Clock = () => number;

/** The server's secrets, as operations on values (the secrets themselves never leave). */
export interface SecretBox {
  /** The stored form of a key or session cookie: a keyed digest. */
  digest(value: string): string | Promise<string>;
  /** Public name of the digest's key, stored beside each digest so that keys can rotate. */
  readonly pepperId: string;
  /** Encrypts a value so that only this server can read it again. */
  seal(plaintext: string): string | Promise<string>;
  /** Undefined when the value was sealed under another secret or altered. */
  unseal(sealed: string): string | undefined | Promise<string | undefined>;
  /** The HS256 key of login JWTs. */
  readonly jwtKey: Uint8Array;
}

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** False for a missing hash too, after spending the time of one verification. */
  verify(hash: string | null | undefined, password: string): Promise<boolean>;
}

/** What changed, so that caches forget it (here and on other instances). */
export type Invalidation =
  | { kind: 'key'; id: string }
  | { kind: 'user'; id: string }
  | { kind: 'session'; id: string }
  | { kind: 'all' };

export interface CachedSession extends FoundSession {
  /** When the credential stops working, in ms since the epoch (a JWT's exp may come first). */
  expiresAtMs: number;
}

/**
 * Verified credentials kept between requests. Entries are named by `entryId`; a read that
 * started before an invalidation (an older `generation`) must not be stored.
 */
export interface CredentialCache {
  readonly enabled: boolean;
  readonly generation: number;
  entryId(kind: 'key' | 'jwt' | 'cookie' | 'basic', secret: string): string;
  getKey(entry: string): KeyWithOwner | undefined;
  putKey(entry: string, found: KeyWithOwner, generation: number): void;
  getSession(entry: string, now: number): CachedSession | undefined;
  putSession(entry: string, found: CachedSession, generation: number): void;
  getBasic(entry: string): UserRecord | undefined;
  putBasic(entry: string, user: UserRecord, generation: number): void;
  /** Forgets what the change touches; called after the change is committed. */
  invalidate(change: Invalidation): Promise<void>;
}

/** A cache that keeps nothing (the mock, and services inside a transaction). */
export const NO_CACHE: CredentialCache = {
  enabled: false,
  generation: 0,
  entryId: (kind, secret) => `${kind}:${secret}`,
  getKey: () => undefined,
  putKey: () => {},
  getSession: () => undefined,
  putSession: () => {},
  getBasic: () => undefined,
  putBasic: () => {},
  invalidate: async () => {},
};

/** Where a key's last use goes: written at once (mock) or buffered and batched (server). */
export interface UsageRecorder {
  record(keyId: string, clientIp: string, at: number): void;
}

/** A count in the current window of a limiter, as rate-limiter-flexible reports it. */
export interface WindowCount {
  /** Points counted in the current window, this call's included. */
  consumed: number;
  /** Milliseconds until the window resets. */
  msBeforeReset: number;
}

/** Counters of requests per identity and window; atomic in the store that keeps them. */
export interface RequestCounter {
  consume(identity: string, limit: number, windowS: number, cost: number): Promise<WindowCount>;
}

export interface LockState {
  locked: boolean;
  /** Failures counted in the current window. */
  failures: number;
  retryAfterS: number;
}

export interface Lockout {
  address: string;
  lockedUntil: Date;
}

/** Failed authentications per client address, and the locks they start. */
export interface LockoutStore {
  state(address: string): Promise<LockState>;
  /** Counts a failure: the failures in the window so far, and the lock when this one started it. */
  fail(address: string): Promise<{ failures: number; lock: Lockout | undefined }>;
  /** Forgets the failures of an address that is not locked. */
  succeed(address: string): Promise<void>;
  list(): Promise<Lockout[]>;
  /** Lifts a lock and forgets the failures; false when the address was not locked. */
  clear(address: string): Promise<boolean>;
}

/**
 * What the services and the pipeline tell an observer (the server's metrics) as they go.
 * `presented` is asked only when needed, off the hot path.
 */
export type CoreEvent =
  | { type: 'authenticated'; method: AuthMethod }
  /**
   * A webhook delivery attempt ended: `delivered`, `retrying` (a later attempt is due),
   * `failed` (given up) or `disabled` (the receiver answered 410; the webhook was switched off).
   */
  | { type: 'webhook_attempt'; result: 'delivered' | 'retrying' | 'failed' | 'disabled' }
  | { type: 'authentication_failed'; error: unknown; presented: () => Presented | undefined }
  | { type: 'rate_limited'; policy: string }
  | { type: 'locked_out_refusal' }
  | { type: 'lockout_started' };

/** Where unexpected errors are reported (the server's logger; the console in the mock). */
export type ErrorReporter = (message: string, detail: Record<string, unknown>) => void;

/** One signed webhook request, to a target whose address was checked. */
export interface OutgoingWebhook {
  /** The webhook's URL. */
  url: string;
  /** The host name of the URL, for the Host header and TLS (SNI, certificate). */
  host: string;
  /**
   * The checked address to connect to (pinned: the host is not resolved again). Undefined
   * when the network does not resolve host names itself (the mock, behind msw).
   */
  address: string | undefined;
  headers: Record<string, string>;
  body: string;
  /** The whole exchange must end within this time. */
  timeoutMs: number;
}

/** What came back: an answer (its start only), or why there was none. */
export type WebhookAnswer =
  | { ok: true; status: number; body: string; truncated: boolean; durationMs: number }
  | { ok: false; timedOut: boolean; error: string; durationMs: number };

/**
 * How webhooks reach their receivers. The server resolves host names itself and connects to
 * the checked address, never following a redirect; the mock sends with `fetch`, which msw
 * intercepts.
 */
export interface WebhookNetwork {
  /** The addresses a host name resolves to; absent when this network cannot resolve. */
  resolve?: ((host: string) => Promise<string[]>) | undefined;
  send(request: OutgoingWebhook): Promise<WebhookAnswer>;
}
