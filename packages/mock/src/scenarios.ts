import {
  ApiError,
  CONTRACT,
  DEFAULT_RULES,
  decideRateLimit,
  type ErrorCode,
  listOperations,
  mswPath,
  PROBLEM_JSON,
  toProblem,
  wwwAuthenticate,
} from '@latchkey/core';
import { delay, type HttpHandler, HttpResponse, http } from 'msw';
import { findMockFor } from './mock.js';

/**
 * Where a scenario applies.
 *
 * @example
 * ```ts
 * const target: ScenarioTarget = { baseUrl: 'http://latchkey.test', operationIds: ['createKey'], once: true };
 * server.use(...scenarios.serverError(target));
 * ```
 */
export interface ScenarioTarget {
  /** Only requests to this Latchkey; by default any origin serving the contract's paths. */
  baseUrl?: string;
  /** Only these operations; by default every operation of the contract. */
  operationIds?: string[];
  /** Apply to the next matching request only. Default false. */
  once?: boolean;
}

type Resolver = Parameters<typeof http.all>[1];

function handlersFor(target: ScenarioTarget, resolver: Resolver): HttpHandler[] {
  const origin = target.baseUrl ? new URL(target.baseUrl).href.replace(/\/+$/, '') : '*';
  return listOperations(CONTRACT)
    .filter((op) => !target.operationIds || target.operationIds.includes(op.operationId))
    .map((op) => http[op.method](`${origin}${mswPath(op.path)}`, resolver, { once: target.once ?? false }));
}

function problem(code: ErrorCode, detail: string, path: string, retryAfter?: number) {
  return toProblem(new ApiError(code, detail, retryAfter === undefined ? {} : { retryAfter }), path);
}

/** The challenge of the mock that serves `url`, or the server's default one. */
function challengeFor(url: string): string {
  const mock = findMockFor(url);
  return mock
    ? mock.services.authenticator.challenge('invalid_token')
    : wwwAuthenticate(DEFAULT_RULES.authMethods, 'invalid_token');
}

/**
 * Ready-made msw overrides for what is hard to provoke against a live server. Pass them
 * to `server.use(...)` (or `worker.use(...)`) after the mock's handlers; they win until
 * `resetHandlers()`.
 *
 * @example
 * ```ts
 * server.use(...scenarios.rateLimited({ retryAfter: 2 }));
 * server.use(...scenarios.serverError({ operationIds: ['createKey'], once: true }));
 * ```
 */
export const scenarios = {
  /**
   * Every matching request gets 429 RATE_LIMITED with `Retry-After` and the rate-limit headers.
   *
   * @example
   * ```ts
   * server.use(...scenarios.rateLimited({ retryAfter: 1, limit: 100 }));
   * ```
   */
  rateLimited(options: ScenarioTarget & { retryAfter?: number; limit?: number } = {}): HttpHandler[] {
    const retryAfter = options.retryAfter ?? 30;
    const limit = options.limit ?? 100;
    return handlersFor(options, ({ request }) => {
      // The server's own decision for a count one past the limit, with this wait.
      const decision = decideRateLimit(
        { name: 'default', limit, windowS: DEFAULT_RULES.rateWindowS },
        { consumed: limit + 1, msBeforeReset: retryAfter * 1000 },
        Date.now(),
      );
      return HttpResponse.json(
        problem(
          'RATE_LIMITED',
          `Rate limit exceeded; try again in ${decision.retryAfterS} seconds.`,
          new URL(request.url).pathname,
          decision.retryAfterS,
        ),
        {
          status: 429,
          headers: {
            ...decision.headers,
            'Content-Type': PROBLEM_JSON,
            'Retry-After': String(decision.retryAfterS),
          },
        },
      );
    });
  },

  /**
   * The mock answers as usual, but authenticated responses say the credential expires in
   * `inMs` (`X-Auth-Expires`), to exercise expiry warnings.
   *
   * @example
   * ```ts
   * server.use(...scenarios.credentialExpiring({ inMs: 60_000 }));
   * ```
   */
  credentialExpiring(options: ScenarioTarget & { inMs: number }): HttpHandler[] {
    return handlersFor(options, async ({ request }) => {
      const mock = findMockFor(request.url);
      if (!mock) throw new Error(`scenarios.credentialExpiring: no Latchkey mock serves ${request.url}`);
      const response = await mock.handle(request);
      if (!response) return undefined;
      if (response.headers.has('X-Auth-Expires')) {
        response.headers.set('X-Auth-Expires', new Date(Date.now() + options.inMs).toISOString());
      }
      return response;
    });
  },

  /**
   * Every matching request gets 401 AUTHENTICATION_FAILED with `WWW-Authenticate`, as for a
   * revoked or expired credential.
   *
   * @example
   * ```ts
   * server.use(...scenarios.unauthorized({ operationIds: ['whoami'] }));
   * ```
   */
  unauthorized(options: ScenarioTarget = {}): HttpHandler[] {
    return handlersFor(options, ({ request }) =>
      HttpResponse.json(
        problem(
          'AUTHENTICATION_FAILED',
          'The credential is missing, invalid, expired or revoked.',
          new URL(request.url).pathname,
        ),
        {
          status: 401,
          headers: { 'Content-Type': PROBLEM_JSON, 'WWW-Authenticate': challengeFor(request.url) },
        },
      ),
    );
  },

  /**
   * Every matching request gets 500 INTERNAL_ERROR (a problem body, as the server sends).
   *
   * @example
   * ```ts
   * server.use(...scenarios.serverError({ once: true }));
   * ```
   */
  serverError(options: ScenarioTarget = {}): HttpHandler[] {
    return handlersFor(options, ({ request }) =>
      HttpResponse.json(
        problem('INTERNAL_ERROR', 'The server failed to answer this request.', new URL(request.url).pathname),
        { status: 500, headers: { 'Content-Type': PROBLEM_JSON } },
      ),
    );
  },

  /**
   * Every matching request fails as a network error (fetch rejects with a TypeError).
   *
   * @example
   * ```ts
   * server.use(...scenarios.networkError({ operationIds: ['listKeys'] }));
   * ```
   */
  networkError(options: ScenarioTarget = {}): HttpHandler[] {
    return handlersFor(options, () => HttpResponse.error());
  },

  /**
   * Every matching request waits `ms` milliseconds, then the mock answers as usual.
   *
   * @example
   * ```ts
   * server.use(...scenarios.latency(300));
   * ```
   */
  latency(ms: number, options: ScenarioTarget = {}): HttpHandler[] {
    return handlersFor(options, async () => {
      await delay(ms);
      return undefined;
    });
  },
};
