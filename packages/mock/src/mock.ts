import {
  ApiError,
  type Clock,
  type CoreServices,
  cookieSettingsProblem,
  createCore,
  createMemoryDeps,
  DEFAULT_RULES,
  type Handler,
  type MemoryStore,
  REQUEST_ID_HEADER,
  type RulesConfig,
  requestIdOf,
  WebhookWorker,
} from '@latchkey/core';
import { type HttpHandler, http } from 'msw';
import { problemResponse, toIncoming, toResponse } from './http/fetch-adapter.js';
import { notifyObservers } from './http/observe.js';
import { pageHandlers } from './pages.js';
import { applySeed, type SeededData, type SeedSpec } from './seed.js';

/**
 * The server's settings the mock follows (every one with the server's default): the same
 * names as the server's configuration, for example `rateLimit`, `lockoutAttempts`,
 * `authMethods`, `apiKeyHeaders`, `superuserOnly`, `keyPrefix`, `passwordMinLength`.
 *
 * @example
 * ```ts
 * const config: MockConfig = { rateLimit: 3, authMethods: ['header', 'bearer'] };
 * ```
 */
export type MockConfig = Partial<RulesConfig>;

/**
 * Options of {@link createLatchkeyMock} and {@link createLatchkeyHandlers}.
 *
 * @example
 * ```ts
 * const options: LatchkeyMockOptions = {
 *   baseUrl: 'http://latchkey.test',
 *   seed: { users: [{ username: 'alice', is_superuser: true }], keys: [{ owner: 'alice', name: 'ci' }] },
 *   config: { rateLimit: 5, lockoutAttempts: 3 },
 * };
 * ```
 */
export interface LatchkeyMockOptions {
  /** Where the mocked Latchkey answers, for example `http://latchkey.test`. */
  baseUrl: string;
  /** Users and keys created up front; their plaintext values come back in `seeded`. */
  seed?: SeedSpec;
  /** Server settings to mimic; a small `rateLimit` or `lockoutAttempts` makes 429s easy to reach. */
  config?: MockConfig;
  /** The client address msw requests appear to come from. Default `127.0.0.1`. */
  clientIp?: string;
  /** The clock, in epoch milliseconds (to test expiry without waiting). Default `Date.now`. */
  clock?: Clock;
  /** Replace operation handlers (for the package's own tests of drift). */
  handlers?: Readonly<Record<string, Handler>>;
}

/**
 * A running mock: its msw handlers, its services and store, and what the seed created.
 *
 * @example
 * ```ts
 * const mock: LatchkeyMock = createLatchkeyMock({ baseUrl: 'http://latchkey.test', seed: { users: [{ username: 'alice' }] } });
 * server.use(...mock.handlers);
 * afterEach(() => mock.reset());
 * ```
 */
export interface LatchkeyMock {
  readonly baseUrl: string;
  /** The msw request handlers: everything under `baseUrl`. */
  readonly handlers: HttpHandler[];
  /** The services over the in-memory state, as the server's run over its database; replaced by {@link LatchkeyMock.reset}. */
  readonly services: CoreServices;
  /** The in-memory state. */
  readonly store: MemoryStore;
  /** The seeded users and keys with their plaintext passwords and keys. */
  readonly seeded: SeededData;
  /** Resolves when the seed is stored (every request waits for it too). */
  readonly ready: Promise<void>;
  /**
   * Answers a request without msw (the mock HTTP server uses this): 404 or 405 when no
   * operation of the contract is at that method and path; undefined when the URL is not
   * under `baseUrl`.
   */
  handle(request: Request, clientIp?: string): Promise<Response | undefined>;
  /**
   * Attempts every webhook delivery that is due now (after scanning keys' expiry) and
   * resolves once each attempt is in the delivery log. Deliveries are also sent on their own,
   * right after the request that raised them; this waits for them. Retries that are due later
   * (`config.webhookRetryBaseMs`, 15 s by default) are not waited for.
   */
  flushWebhooks(): Promise<void>;
  /** Forgets everything and applies the seed again; returns the new seeded data. */
  reset(): SeededData;
}

const registry = new Set<LatchkeyMock>();

/**
 * The most recently created mock that serves `url`, for the scenarios.
 *
 * @example
 * ```ts
 * const mock = findMockFor('http://latchkey.test/api/v1/keys');
 * ```
 */
export function findMockFor(url: string): LatchkeyMock | undefined {
  return [...registry].reverse().find((m) => url.startsWith(m.baseUrl));
}

/**
 * Creates a stateful mock of Latchkey: msw handlers that run the server's own rules and
 * request pipeline (from `@latchkey/core`) over an in-memory store.
 *
 * @example
 * ```ts
 * import { setupServer } from 'msw/node';
 * import { createLatchkeyMock } from '@latchkey/mock';
 *
 * const mock = createLatchkeyMock({
 *   baseUrl: 'http://latchkey.test',
 *   seed: { users: [{ username: 'alice' }], keys: [{ owner: 'alice', name: 'ci' }] },
 * });
 * const server = setupServer(...mock.handlers);
 * server.listen({ onUnhandledRequest: 'error' });
 * const res = await fetch('http://latchkey.test/api/v1/auth/whoami', { headers: { 'X-API-Key': mock.seeded.keys.ci!.key } });
 * ```
 */
export function createLatchkeyMock(options: LatchkeyMockOptions): LatchkeyMock {
  const baseUrl = new URL(options.baseUrl).href.replace(/\/+$/, '');
  const basePath = new URL(baseUrl).pathname.replace(/\/+$/, '');
  const clientIp = options.clientIp ?? '127.0.0.1';
  const clock = options.clock ?? (() => Date.now());
  const cookieProblem = cookieSettingsProblem({ ...DEFAULT_RULES, ...options.config });
  if (cookieProblem) throw new TypeError(`config.cookieSameSite: ${cookieProblem} (config.cookieSecure)`);

  const start = () => {
    const deps = createMemoryDeps(options.config, clock, (message, detail) => console.error(message, detail));
    const core = createCore(deps, { handlers: { ...pageHandlers, ...options.handlers } });
    const { seeded, stored } = applySeed(deps, options.seed);
    // Every request waits for the seed; a failure surfaces there, not as an unhandled rejection.
    stored.catch(() => {});
    // Webhooks go out with fetch (msw intercepts them), off the request, as the server sends them.
    const webhooks = new WebhookWorker(core.services.webhooks, {
      pollMs: 250,
      expiryScanMs: 1000,
      report: deps.report,
    });
    webhooks.start();
    return { deps, core, seeded, ready: stored, webhooks };
  };
  let state = start();

  const localPath = (request: Request) => new URL(request.url).pathname.slice(basePath.length) || '/';

  async function answer(request: Request, ip: string): Promise<Response> {
    await state.ready;
    const path = localPath(request);
    const { core, deps } = state;
    let response: Response;
    let operationId: string | undefined;
    const requestId = requestIdOf(request.headers.get(REQUEST_ID_HEADER));
    try {
      const incoming = await toIncoming(request, path, ip, deps.config.maxBodyBytes, requestId);
      const out = await core.pipeline.handle(incoming);
      operationId = out.operationId;
      response = toResponse(out, clock(), requestId);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      response = problemResponse(err, path, requestId);
    }
    if (operationId) {
      const id = operationId;
      const answered = response;
      notifyObservers(() => ({ operationId: id, request, response: answered.clone() }));
    }
    return response;
  }

  const resolver = ({ request }: { request: Request }) => answer(request, clientIp);
  const handlers = [http.all(baseUrl, resolver), http.all(`${baseUrl}/*`, resolver)];

  const mock: LatchkeyMock = {
    baseUrl,
    handlers,
    get services() {
      return state.core.services;
    },
    get store() {
      return state.deps.store;
    },
    get seeded() {
      return state.seeded;
    },
    get ready() {
      return state.ready;
    },
    async handle(request, ip = clientIp) {
      if (!request.url.startsWith(baseUrl)) return undefined;
      return answer(request, ip);
    },
    async flushWebhooks() {
      await state.ready;
      await state.webhooks.flush();
    },
    reset() {
      void state.webhooks.stop();
      state = start();
      return state.seeded;
    },
  };
  registry.add(mock);
  return mock;
}

/**
 * The msw handlers of a new mock, for `setupServer(...handlers)` or `setupWorker(...handlers)`.
 * The array also carries the mock's `services`, `store` and `seeded` data.
 *
 * @example
 * ```ts
 * const handlers = createLatchkeyHandlers({ baseUrl: 'http://latchkey.test', seed: { users: [{ username: 'alice' }] } });
 * const server = setupServer(...handlers);
 * console.log(handlers.seeded.users.alice?.password);
 * ```
 */
export function createLatchkeyHandlers(
  options: LatchkeyMockOptions,
): HttpHandler[] & { readonly mock: LatchkeyMock; readonly seeded: SeededData; readonly store: MemoryStore } {
  const mock = createLatchkeyMock(options);
  return Object.defineProperties([...mock.handlers], {
    mock: { value: mock },
    seeded: { get: () => mock.seeded },
    store: { get: () => mock.store },
  }) as HttpHandler[] & { mock: LatchkeyMock; seeded: SeededData; store: MemoryStore };
}
