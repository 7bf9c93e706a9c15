import { applyCredential, type CredentialValue } from './apply-credential.js';
import { type CredentialKind, type Credentials, credentialKind } from './credentials.js';
import { LatchkeyError, toLatchkeyError } from './errors.js';
import { type CredentialExpiringEvent, DEFAULT_EXPIRY_WARNING_MS, ExpiryWatch } from './expiry.js';
import { type Client, createClient, createConfig } from './generated/client/index.js';
import * as operations from './generated/sdk.gen.js';
import { securitySchemes } from './generated/security.gen.js';
import { LoginSession } from './login-session.js';
import { parseRateLimit, type RateLimit } from './rate-limit.js';
import { findOperation, type SchemeChoice, selectScheme } from './security.js';
import { createTransport, type RateLimitEvent } from './transport.js';

/** The readable cookie in which the server also hands out the CSRF token at login. */
export const CSRF_COOKIE = 'latchkey_csrf';

/**
 * Options of {@link createLatchkeyClient}.
 *
 * @example
 * ```ts
 * const options: LatchkeyClientOptions = {
 *   baseUrl: 'https://latchkey.example.com',
 *   credentials: { token: process.env.LATCHKEY_TOKEN! },
 *   maxRateLimitWaitMs: 10_000,
 *   onRateLimit: ({ waitMs, path }) => console.warn(`rate limited on ${path}, waiting ${waitMs} ms`),
 *   onCredentialExpiring: ({ expiresAt }) => console.warn(`rotate the Latchkey key before ${expiresAt.toISOString()}`),
 * };
 * ```
 */
export interface LatchkeyClientOptions {
  /** Where Latchkey answers, for example `https://latchkey.example.com`. */
  baseUrl: string;
  /** What to authenticate with; leave out for an anonymous client (login, meta, bootstrap). */
  credentials?: Credentials;
  /** The fetch to send with (a polyfill, a test double); globalThis.fetch by default. */
  fetch?: typeof globalThis.fetch;
  /** Headers added to every request (a User-Agent, a tracing header). */
  headers?: Record<string, string>;
  /** Time each attempt has to get a response; false for none. Default 10 000. */
  timeoutMs?: number | false;
  /** How many times one call is retried after a 429. Default 2. */
  maxRateLimitRetries?: number;
  /**
   * The most one call may spend waiting on rate limits, in total. A 429 asking for a
   * longer wait is thrown at once as a RateLimitError. Default 60 000.
   */
  maxRateLimitWaitMs?: number;
  /** Wait for the reset before sending when the last response said no requests were left. */
  throttle?: boolean;
  /**
   * Called each time a call is held back by the rate limit (a 429, or a throttle wait). What
   * it returns is ignored, except that the call waits for a promise it returns.
   */
  onRateLimit?: (event: RateLimitEvent) => unknown;
  /** Warn this long before the credential expires. Default 7 days. */
  expiryWarningMs?: number;
  /**
   * Called once per credential when a response says it expires within `expiryWarningMs`.
   * Not called for `{ login }` credentials, which the client renews itself.
   */
  onCredentialExpiring?: (event: CredentialExpiringEvent) => void;
}

type Operations = typeof operations;

/**
 * Every operation of the contract, bound to one client, named by its operationId.
 *
 * @example
 * ```ts
 * const rotate: LatchkeyOperations['rotateKey'] = client.rotateKey;
 * const { data: fresh } = await rotate({ path: { key_id: id }, body: { grace_seconds: 3600 } });
 * ```
 */
export type LatchkeyOperations = { readonly [K in keyof Operations]: Operations[K] };

/**
 * What a client knows besides the operations.
 *
 * @example
 * ```ts
 * await client.whoami();
 * if (client.rateLimit?.remaining === 0) console.log('next window at', client.rateLimit.resetAt);
 * client.setCredentials({ apiKey: rotatedKey });
 * ```
 */
export interface LatchkeyClientState {
  /** The rate limit the last response reported; undefined until one did. */
  readonly rateLimit: RateLimit | undefined;
  /**
   * When the credential expires, from `X-Auth-Expires`: a Date, null when it never
   * expires, undefined until an authenticated response said.
   */
  readonly credentialExpiresAt: Date | null | undefined;
  /**
   * Swaps the credentials for the following requests (undefined: none). The rate limit,
   * the expiry and the login JWT of the previous credentials are forgotten.
   */
  setCredentials(credentials: Credentials | undefined): void;
  /**
   * The generated client underneath, with the credential, rate-limit and error handling
   * installed. Pass it as `client` to the standalone operations of
   * `@latchkey/client/operations`, or add your own interceptors to it.
   */
  readonly http: Client;
}

/**
 * A Latchkey client: the typed operations plus its state.
 *
 * @example
 * ```ts
 * const client: LatchkeyClient = createLatchkeyClient({ baseUrl, credentials: { apiKey } });
 * ```
 */
export type LatchkeyClient = LatchkeyOperations & LatchkeyClientState;

const STATE_KEYS = ['rateLimit', 'credentialExpiresAt', 'setCredentials', 'http'] as const;

function readCookie(name: string): string | undefined {
  const cookies = (globalThis as { document?: { cookie?: unknown } }).document?.cookie;
  if (typeof cookies !== 'string') return undefined;
  for (const pair of cookies.split(';')) {
    const at = pair.indexOf('=');
    if (at > 0 && pair.slice(0, at).trim() === name) return decodeURIComponent(pair.slice(at + 1).trim());
  }
  return undefined;
}

function replaceHeaders(target: Headers, source: Headers): void {
  for (const name of [...target.keys()]) if (!source.has(name)) target.delete(name);
  for (const [name, value] of source) target.set(name, value);
}

function nonNegative(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0) throw new TypeError(`${name} must be a number >= 0`);
  return value;
}

/**
 * Creates a client for one Latchkey server. It sends the credentials in the form each
 * operation accepts (from the contract's security lists), waits out 429 answers, tracks
 * the rate limit and the credential's expiry, and throws a LatchkeyError subclass for
 * every non-2xx answer.
 *
 * @example
 * ```ts
 * import { createLatchkeyClient } from '@latchkey/client';
 *
 * const latchkey = createLatchkeyClient({
 *   baseUrl: 'http://127.0.0.1:8800',
 *   credentials: { login: { username: 'admin', password: process.env.LATCHKEY_PASSWORD! } },
 * });
 * const { data: created } = await latchkey.createKey({ body: { name: 'ci-deploy', write_enabled: false } });
 * const ci = createLatchkeyClient({ baseUrl: 'http://127.0.0.1:8800', credentials: { apiKey: created.key } });
 * const { data: me } = await ci.whoami();
 * console.log(me.auth.method, ci.rateLimit?.remaining, ci.credentialExpiresAt);
 * ```
 */
export function createLatchkeyClient(options: LatchkeyClientOptions): LatchkeyClient {
  let baseUrl: string;
  try {
    baseUrl = new URL(options.baseUrl).href.replace(/\/+$/, '');
  } catch {
    throw new TypeError(
      `baseUrl must be an absolute URL such as http://127.0.0.1:8800; got ${options.baseUrl}`,
    );
  }
  const maxRateLimitRetries = nonNegative('maxRateLimitRetries', options.maxRateLimitRetries, 2);
  const maxRateLimitWaitMs = nonNegative('maxRateLimitWaitMs', options.maxRateLimitWaitMs, 60_000);
  const expiryWarningMs = nonNegative('expiryWarningMs', options.expiryWarningMs, DEFAULT_EXPIRY_WARNING_MS);
  const timeoutMs =
    options.timeoutMs === false ? false : nonNegative('timeoutMs', options.timeoutMs, 10_000) || false;

  let credentials: Credentials | undefined;
  let kind: CredentialKind = 'none';
  let loginSession: LoginSession | undefined;
  /** The CSRF token of the last login through this client, for `{ session: true }`. */
  let sessionCsrf: string | undefined;
  let rateLimit: RateLimit | undefined;
  const expiry = new ExpiryWatch(expiryWarningMs, options.onCredentialExpiring);
  const baseFetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));

  const transport = createTransport({
    fetch: baseFetch,
    timeoutMs,
    maxRateLimitRetries,
    maxRateLimitWaitMs,
    throttle: options.throttle ?? false,
    onRateLimit: options.onRateLimit,
    observe(response) {
      rateLimit = parseRateLimit(response.headers) ?? rateLimit;
      expiry.observe(response.headers, kind !== 'login');
    },
    currentRateLimit: () => rateLimit,
    async renew(request) {
      // A 401 on a login JWT: it expired or was revoked (logout elsewhere). Log in again once.
      const session = loginSession;
      const header = request.headers.get('Authorization');
      if (!session || !header?.startsWith('Bearer ')) return undefined;
      const used = header.slice('Bearer '.length);
      session.invalidate(used);
      let fresh: string;
      try {
        fresh = await session.token();
      } catch (error) {
        // The login itself was refused: the caller gets the original 401.
        if (error instanceof LatchkeyError) return undefined;
        throw error;
      }
      if (fresh === used) return undefined;
      const headers = new Headers(request.headers);
      headers.set('Authorization', `Bearer ${fresh}`);
      return new Request(request, { headers });
    },
  });

  const http = createClient(
    createConfig({
      baseUrl,
      headers: options.headers,
      throwOnError: true,
      // The transport owns timeouts and retries; ky only carries the request.
      kyOptions: { fetch: transport, retry: 0, timeout: false },
    }),
  );

  async function credentialValue(choice: SchemeChoice): Promise<CredentialValue> {
    const given = credentials as Record<string, unknown> | undefined;
    switch (kind) {
      case 'apiKey':
      case 'token':
      case 'bearer':
        return { type: 'secret', value: given?.[kind] as string };
      case 'basic':
        return { type: 'password', value: given?.basic as { username: string; password: string } };
      case 'login':
        return { type: 'secret', value: await (loginSession as LoginSession).token() };
      case 'session':
        return {
          type: 'session',
          csrfToken: sessionCsrf ?? (given?.csrfToken as string | undefined) ?? readCookie(CSRF_COOKIE),
        };
      case 'none':
        throw new TypeError(`no credential to send as ${choice.name}`);
    }
  }

  http.interceptors.request.use(async (request, opts) => {
    const operation = findOperation(opts.method ?? request.method, opts.url);
    if (!operation) return request;
    const choice = selectScheme(operation, kind);
    if (!choice) return request;
    const sent = await applyCredential(request, choice, await credentialValue(choice), securitySchemes);
    // hey-api 0.95 also hands `opts.headers` to ky, which lays them over the Request's own
    // headers; they must match, or a credential removed here would come back.
    if (opts.headers instanceof Headers) replaceHeaders(opts.headers, sent.headers);
    return sent;
  });

  http.interceptors.response.use(async (response, _request, opts) => {
    if (!response.ok) return response;
    const id = findOperation(opts.method ?? 'GET', opts.url)?.id;
    if (id === 'login' && kind === 'session') {
      const body = (await response.clone().json()) as { csrf_token?: unknown };
      if (typeof body.csrf_token === 'string') sessionCsrf = body.csrf_token;
    } else if (id === 'logout') {
      loginSession?.clear();
      sessionCsrf = undefined;
    }
    return response;
  });

  http.interceptors.error.use((error, response) => toLatchkeyError(error, response));

  function setCredentials(next: Credentials | undefined): void {
    const nextKind = credentialKind(next);
    credentials = next;
    kind = nextKind;
    loginSession = undefined;
    if (next && 'login' in next) {
      loginSession = new LoginSession(next.login, async (account) => {
        const { data } = await operations.login({ client: http, body: account });
        return { token: data.token, expiresAt: new Date(data.expires_at) };
      });
    }
    sessionCsrf = undefined;
    rateLimit = undefined;
    expiry.reset();
    http.setConfig({ credentials: kind === 'session' ? 'include' : undefined });
  }
  setCredentials(options.credentials);

  const bound: Record<string, unknown> = {};
  for (const [name, operation] of Object.entries(operations)) {
    if (typeof operation !== 'function') continue;
    if ((STATE_KEYS as readonly string[]).includes(name)) {
      throw new Error(`the contract's operation ${name} clashes with the client's own ${name}`);
    }
    const call = operation as (options?: Record<string, unknown>) => unknown;
    bound[name] = (callOptions?: Record<string, unknown>) => call({ ...callOptions, client: http });
  }

  return Object.defineProperties(bound, {
    rateLimit: { enumerable: true, get: () => rateLimit },
    credentialExpiresAt: { enumerable: true, get: () => expiry.expiresAt },
    setCredentials: { enumerable: true, value: setCredentials },
    http: { enumerable: true, value: http },
  }) as unknown as LatchkeyClient;
}
