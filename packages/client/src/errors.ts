import type { Problem } from './generated/types.gen.js';
import { parseRetryAfter } from './rate-limit.js';

/**
 * One field at fault in a validation problem.
 *
 * @example
 * ```ts
 * const fault: FieldError = { field: 'body.name', message: 'must NOT have fewer than 1 characters' };
 * ```
 */
export interface FieldError {
  field: string;
  message: string;
}

function isProblem(body: unknown): body is Problem {
  if (typeof body !== 'object' || body === null) return false;
  const { status, code } = body as Record<string, unknown>;
  return typeof status === 'number' && typeof code === 'string';
}

function describeStatus(response: Response): string {
  return response.statusText || `HTTP ${response.status}`;
}

/**
 * A non-2xx answer from Latchkey. Every operation throws one (or one of its subclasses)
 * instead of returning an error. The fields come from the `application/problem+json`
 * body; when the body is not a problem (a proxy's HTML page, say), `code` is `HTTP_<status>`
 * and `problem` is undefined.
 *
 * @example
 * ```ts
 * try {
 *   await client.getKey({ path: { key_id: id } });
 * } catch (err) {
 *   if (err instanceof LatchkeyError && err.code === 'KEY_NOT_FOUND') return undefined;
 *   throw err;
 * }
 * ```
 */
export class LatchkeyError extends Error {
  override name = 'LatchkeyError';
  /** The HTTP status. */
  readonly status: number;
  /** The stable, machine-readable code, for example `KEY_READ_ONLY`. */
  readonly code: string;
  /** A short summary of the problem type. */
  readonly title: string;
  /** What went wrong this time, when the server said. */
  readonly detail: string | undefined;
  /** The problem document, when the body was one. */
  readonly problem: Problem | undefined;
  /** The parsed body as received (JSON when it parsed, else text). */
  readonly body: unknown;
  /** The response; its body has already been read. */
  readonly response: Response;

  constructor(body: unknown, response: Response) {
    const problem = isProblem(body) ? body : undefined;
    const status = response.status;
    const code = problem?.code ?? `HTTP_${status}`;
    const title = problem?.title ?? describeStatus(response);
    const detail = problem?.detail;
    super(`${status} ${code}: ${detail ?? title}`);
    this.status = status;
    this.code = code;
    this.title = title;
    this.detail = detail;
    this.problem = problem;
    this.body = body;
    this.response = response;
  }
}

/**
 * 400: the request was malformed. `errors` names each field at fault.
 *
 * @example
 * ```ts
 * try {
 *   await client.createKey({ body: { name: '' } });
 * } catch (err) {
 *   if (err instanceof ValidationError) console.log(err.errors); // [{ field: 'body.name', message: … }]
 * }
 * ```
 */
export class ValidationError extends LatchkeyError {
  override name = 'ValidationError';
  /** Each field at fault, as the server listed them (empty when it listed none). */
  readonly errors: FieldError[];

  constructor(body: unknown, response: Response) {
    super(body, response);
    this.errors = this.problem?.errors ?? [];
  }
}

/**
 * 401: the credential is missing, unknown, wrong, expired or revoked. The server gives
 * the same answer in every case.
 *
 * @example
 * ```ts
 * try {
 *   await client.whoami();
 * } catch (err) {
 *   if (err instanceof AuthenticationError) askForANewKey();
 * }
 * ```
 */
export class AuthenticationError extends LatchkeyError {
  override name = 'AuthenticationError';
}

/**
 * 403: the credential is valid but may not do this; `detail` says what is missing (a
 * read-only key, a superuser-only operation, a missing CSRF token, ...).
 *
 * @example
 * ```ts
 * try {
 *   await client.createKey({ body: { name: 'ci' } });
 * } catch (err) {
 *   if (err instanceof PermissionError && err.code === 'KEY_READ_ONLY') useAWritableKey();
 * }
 * ```
 */
export class PermissionError extends LatchkeyError {
  override name = 'PermissionError';
}

/**
 * 429: over the rate limit (`RATE_LIMITED`) or locked out after failed logins
 * (`LOCKED_OUT`). The client has already waited and retried as far as its options allow
 * (`maxRateLimitRetries`, `maxRateLimitWaitMs`) before throwing this.
 *
 * @example
 * ```ts
 * try {
 *   await client.listKeys();
 * } catch (err) {
 *   if (err instanceof RateLimitError) console.log(`try again in ${err.retryAfter} s`);
 * }
 * ```
 */
export class RateLimitError extends LatchkeyError {
  override name = 'RateLimitError';
  /** Seconds to wait before trying again (the problem's `retryAfter`, else `Retry-After`). */
  readonly retryAfter: number | undefined;

  constructor(body: unknown, response: Response, now: number = Date.now()) {
    super(body, response);
    // Read loosely: older servers send no `retryAfter` in the problem.
    const fromBody = (body as { retryAfter?: unknown } | null)?.retryAfter;
    if (typeof fromBody === 'number') this.retryAfter = fromBody;
    else {
      const ms = parseRetryAfter(response.headers, now);
      this.retryAfter = ms === undefined ? undefined : Math.ceil(ms / 1000);
    }
  }
}

/**
 * Turns a non-2xx response and its parsed body into the matching error class.
 *
 * @example
 * ```ts
 * const err = toLatchkeyError({ status: 403, code: 'KEY_READ_ONLY', title: 'Key is read-only' }, response);
 * err instanceof PermissionError; // true
 * ```
 */
export function toLatchkeyError(body: unknown, response: Response): LatchkeyError {
  switch (response.status) {
    case 400:
      return new ValidationError(body, response);
    case 401:
      return new AuthenticationError(body, response);
    case 403:
      return new PermissionError(body, response);
    case 429:
      return new RateLimitError(body, response);
    default:
      return new LatchkeyError(body, response);
  }
}

/**
 * No answer: the server could not be reached, the connection failed, or no response
 * came within `timeoutMs`. `cause` holds the underlying error. A request aborted through
 * your own `signal` rejects with that abort reason instead.
 *
 * @example
 * ```ts
 * try {
 *   await client.getHealth();
 * } catch (err) {
 *   if (err instanceof NetworkError) console.error('Latchkey is unreachable', err.cause);
 * }
 * ```
 */
export class NetworkError extends Error {
  override name = 'NetworkError';
}

/**
 * Thrown before any request is sent when the operation accepts none of the credentials
 * the client holds (or needs one and the client holds none). Nothing was sent.
 *
 * @example
 * ```ts
 * const client = createLatchkeyClient({ baseUrl, credentials: { apiKey } });
 * await client.logout(); // throws: logout accepts a login JWT or the session cookie only
 * ```
 */
export class UnsupportedCredentialsError extends Error {
  override name = 'UnsupportedCredentialsError';

  constructor(
    message: string,
    /** The operation that was called. */
    readonly operationId: string,
    /** The security schemes the operation accepts, as named in the contract. */
    readonly accepted: readonly string[],
  ) {
    super(message);
  }
}
