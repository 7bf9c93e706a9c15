import { NetworkError } from './errors.js';
import { parseRetryAfter, type RateLimit } from './rate-limit.js';

/**
 * Passed to `onRateLimit` each time the client is held back by the rate limit.
 *
 * @example
 * ```ts
 * const onRateLimit = (event: RateLimitEvent) => {
 *   if (!event.willRetry) metrics.increment('latchkey.rate_limited');
 * };
 * ```
 */
export interface RateLimitEvent {
  /**
   * `rate-limited`: the server answered 429. `throttled`: with `throttle: true`, the client
   * waits before sending because the last response said no requests were left.
   */
  reason: 'rate-limited' | 'throttled';
  /** How long the client waits (or would have had to wait) before sending again. */
  waitMs: number;
  /** False when the client gives up and the call throws a RateLimitError. */
  willRetry: boolean;
  /** How many 429 answers this call has had so far (0 for a throttle wait before the first). */
  attempt: number;
  /** The rate limit as last reported. */
  rateLimit: RateLimit | undefined;
  method: string;
  /** The request's path, without the query (which may hold a key). */
  path: string;
}

/** How the transport behaves and whom it tells. */
export interface TransportOptions {
  /** The fetch that really sends: globalThis.fetch, or one given to the client. */
  fetch: typeof globalThis.fetch;
  /** Time allowed for each attempt to get a response; false for none. */
  timeoutMs: number | false;
  /** How many times one call is retried after a 429. */
  maxRateLimitRetries: number;
  /** The most one call may spend waiting on rate limits, in total. */
  maxRateLimitWaitMs: number;
  /** Wait for the reset before sending when the last response said nothing was left. */
  throttle: boolean;
  onRateLimit?: ((event: RateLimitEvent) => unknown) | undefined;
  /** Sees every response first (the rate limit and expiry headers are read here). */
  observe(response: Response): void;
  /** The rate limit last observed, for throttling. */
  currentRateLimit(): RateLimit | undefined;
  /**
   * After a 401: the request to send instead (with a renewed credential), or undefined
   * to give the 401 to the caller. Asked at most once per call.
   */
  renew?: ((request: Request) => Promise<Request | undefined>) | undefined;
  now?: () => number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** When a 429 says nothing about how long to wait. */
export const DEFAULT_RATE_LIMIT_WAIT_MS = 1000;

/**
 * Waits `ms`, or rejects with the signal's reason as soon as it aborts.
 *
 * @example
 * ```ts
 * await sleep(250, AbortSignal.timeout(1000));
 * ```
 */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function pathOf(url: string): string {
  return new URL(url).pathname;
}

function discard(response: Response): void {
  response.body?.cancel().catch(() => {});
}

/**
 * Builds the fetch function the generated client sends through. Around the real fetch it
 * adds a per-attempt timeout, waiting out 429 answers (per `Retry-After`, within
 * `maxRateLimitRetries` and `maxRateLimitWaitMs`), throttling, one renewal of the
 * credential after a 401, and hands every response to `observe`. Failures to get any
 * response become NetworkError with the original error as `cause`.
 *
 * @example
 * ```ts
 * const send = createTransport({
 *   fetch: globalThis.fetch, timeoutMs: 10_000, maxRateLimitRetries: 2, maxRateLimitWaitMs: 60_000,
 *   throttle: false, observe: () => {}, currentRateLimit: () => undefined,
 * });
 * const response = await send('http://127.0.0.1:8800/health');
 * ```
 */
export function createTransport(options: TransportOptions): typeof globalThis.fetch {
  const now = options.now ?? Date.now;
  const wait = options.sleep ?? sleep;

  async function attempt(request: Request, extra: RequestInit | undefined): Promise<Response> {
    const callerSignal = request.signal;
    const controller = new AbortController();
    const forward = () => controller.abort(callerSignal.reason);
    if (callerSignal.aborted) forward();
    else callerSignal.addEventListener('abort', forward, { once: true });
    let timedOut = false;
    const timer =
      options.timeoutMs === false
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            controller.abort(new DOMException('The request timed out', 'TimeoutError'));
          }, options.timeoutMs);
    try {
      // The signal goes in both places: on the Request for fetch implementations that read
      // it there, and in init for those that read init (init wins in a standard fetch).
      const signal = controller.signal;
      return await options.fetch(new Request(request, { signal }), { ...extra, signal });
    } catch (error) {
      if (callerSignal.aborted) throw error;
      const where = `${request.method} ${pathOf(request.url)}`;
      if (timedOut)
        throw new NetworkError(`${where}: no response within ${options.timeoutMs} ms`, { cause: error });
      const reason = error instanceof Error ? error.message : String(error);
      throw new NetworkError(`${where} failed: ${reason}`, { cause: error });
    } finally {
      clearTimeout(timer);
      callerSignal.removeEventListener('abort', forward);
    }
  }

  return async function latchkeyFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    let template = input instanceof Request ? input : new Request(input, init);
    // ky passes the options a Request cannot hold (a dispatcher, say) as `init`.
    const extra = input instanceof Request ? init : undefined;
    const signal = template.signal;
    let waited = 0;
    let rateLimited = 0;
    let renewed = false;

    for (;;) {
      const known = options.currentRateLimit();
      if (options.throttle && known?.remaining === 0 && known.resetAt) {
        const waitMs = known.resetAt.getTime() - now();
        if (waitMs > 0 && waited + waitMs <= options.maxRateLimitWaitMs) {
          await options.onRateLimit?.({
            reason: 'throttled',
            waitMs,
            willRetry: true,
            attempt: rateLimited,
            rateLimit: known,
            method: template.method,
            path: pathOf(template.url),
          });
          await wait(waitMs, signal);
          waited += waitMs;
        }
      }

      const response = await attempt(template.clone(), extra);
      options.observe(response);

      if (response.status === 429) {
        rateLimited++;
        const untilReset = options.currentRateLimit()?.resetAt?.getTime();
        const waitMs = Math.max(
          0,
          parseRetryAfter(response.headers, now()) ??
            (untilReset !== undefined && untilReset > now()
              ? untilReset - now()
              : DEFAULT_RATE_LIMIT_WAIT_MS),
        );
        const willRetry =
          rateLimited <= options.maxRateLimitRetries && waited + waitMs <= options.maxRateLimitWaitMs;
        await options.onRateLimit?.({
          reason: 'rate-limited',
          waitMs,
          willRetry,
          attempt: rateLimited,
          rateLimit: options.currentRateLimit(),
          method: template.method,
          path: pathOf(template.url),
        });
        if (!willRetry) return response;
        discard(response);
        await wait(waitMs, signal);
        waited += waitMs;
        continue;
      }

      if (response.status === 401 && !renewed && options.renew) {
        const next = await options.renew(template);
        if (next) {
          discard(response);
          template = next;
          renewed = true;
          continue;
        }
      }
      return response;
    }
  };
}
