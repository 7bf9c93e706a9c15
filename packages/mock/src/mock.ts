import { type HttpHandler, http } from 'msw';
import { listOperations, mswPath, type OperationSpec, pathMatcher } from './contract/operations.js';
import type { ContractDocument } from './contract/types.js';
import { ContractValidator } from './contract/validation.js';
import { CONTRACT } from './generated/contract.gen.js';
import type { MockHandler } from './handlers/context.js';
import { OPERATION_HANDLERS } from './handlers/index.js';
import { dispatch, noOperation } from './http/dispatch.js';
import { applySeed, type SeededData, type SeedSpec } from './seed.js';
import type { Clock, MockConfig } from './store/config.js';
import { MockStore } from './store/store.js';

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
  config?: Partial<MockConfig>;
  /** The client address msw requests appear to come from. Default `127.0.0.1`. */
  clientIp?: string;
  /** The clock, in epoch milliseconds (to test expiry without waiting). Default `Date.now`. */
  clock?: Clock;
  /** Replace or remove operation handlers (mainly for the package's own tests). */
  handlers?: Readonly<Record<string, MockHandler>>;
}

/**
 * A running mock: its msw handlers, its state, and what the seed created.
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
  /** The msw request handlers, one per operation of the contract. */
  readonly handlers: HttpHandler[];
  /** The in-memory state; replaced by {@link LatchkeyMock.reset}. */
  readonly store: MockStore;
  /** The seeded users and keys with their plaintext passwords and keys. */
  readonly seeded: SeededData;
  /**
   * Answers a request without msw (the mock HTTP server uses this): 404 or 405 when no
   * operation of the contract is at that method and path; undefined when the URL is not
   * under `baseUrl`.
   */
  handle(request: Request, clientIp?: string): Promise<Response | undefined>;
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

let sharedValidator: ContractValidator | undefined;

/**
 * Creates a stateful mock of Latchkey: msw handlers for every operation of openapi.yaml,
 * backed by an in-memory store with the server's rules.
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
 * const res = await fetch('http://latchkey.test/api/v1/auth/whoami', { headers: { 'X-API-Key': mock.seeded.keys[0]!.key } });
 * ```
 */
export function createLatchkeyMock(options: LatchkeyMockOptions): LatchkeyMock {
  const baseUrl = new URL(options.baseUrl).href.replace(/\/+$/, '');
  const basePath = new URL(baseUrl).pathname.replace(/\/+$/, '');
  const document: ContractDocument = CONTRACT;
  sharedValidator ??= new ContractValidator(document);
  const validator = sharedValidator;
  const operationHandlers = options.handlers ?? OPERATION_HANDLERS;
  const clientIp = options.clientIp ?? '127.0.0.1';
  const makeStore = () => new MockStore(options.config, options.clock);
  let store = makeStore();
  let seeded = applySeed(store, options.seed);
  const operations = listOperations(document).map((spec) => ({ spec, match: pathMatcher(spec.path) }));

  const answer = (spec: OperationSpec, request: Request, params: Record<string, string>, ip: string) =>
    dispatch({ store, document, validator, handlers: operationHandlers }, spec, request, params, ip);

  const localPath = (request: Request) => new URL(request.url).pathname.slice(basePath.length) || '/';
  const handlers = operations.flatMap(({ spec, match }) => {
    const resolver = ({ request }: { request: Request }) =>
      answer(spec, request, match(localPath(request)) ?? {}, clientIp);
    const path = `${baseUrl}${mswPath(spec.path)}`;
    // HEAD is answered like GET, as the server does.
    return spec.method === 'get'
      ? [http.get(path, resolver), http.head(path, resolver)]
      : [http[spec.method](path, resolver)];
  });
  // Anything else under baseUrl gets the server's 404 NOT_FOUND or 405 METHOD_NOT_ALLOWED.
  handlers.push(
    http.all(`${baseUrl}/*`, ({ request }) => {
      const path = localPath(request);
      return noOperation(
        request,
        operations.some(({ match }) => match(path) !== undefined),
      );
    }),
  );

  const mock: LatchkeyMock = {
    baseUrl,
    handlers,
    get store() {
      return store;
    },
    get seeded() {
      return seeded;
    },
    async handle(request, ip = clientIp) {
      if (!request.url.startsWith(baseUrl)) return undefined;
      const path = localPath(request);
      const method = request.method === 'HEAD' ? 'get' : request.method.toLowerCase();
      let pathExists = false;
      for (const { spec, match } of operations) {
        const params = match(path);
        if (!params) continue;
        pathExists = true;
        if (spec.method === method) return answer(spec, request, params, ip);
      }
      return noOperation(request, pathExists);
    },
    reset() {
      store = makeStore();
      seeded = applySeed(store, options.seed);
      return seeded;
    },
  };
  registry.add(mock);
  return mock;
}

/**
 * The msw handlers of a new mock, for `setupServer(...handlers)` or `setupWorker(...handlers)`.
 * The array also carries the mock's `store` and `seeded` data.
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
): HttpHandler[] & { readonly mock: LatchkeyMock; readonly seeded: SeededData; readonly store: MockStore } {
  const mock = createLatchkeyMock(options);
  return Object.defineProperties([...mock.handlers], {
    mock: { value: mock },
    seeded: { get: () => mock.seeded },
    store: { get: () => mock.store },
  }) as HttpHandler[] & { mock: LatchkeyMock; seeded: SeededData; store: MockStore };
}
