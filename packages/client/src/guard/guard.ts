import {
  ApiError,
  type AuthMethodSwitch,
  canonicalAddress,
  credentialFinder,
  isSafeMethod,
  permissionProblem,
  resolveClientIp,
} from '@latchkey/core/credentials';
import { createLatchkeyClient } from '../client.js';
import type { Credentials } from '../credentials.js';
import { verifyKey } from '../generated/sdk.gen.js';
import type { VerifyResult } from '../generated/types.gen.js';
import { keyDigester } from './key-digest.js';
import { type GuardRequest, readRequest } from './request-facts.js';
import { type GuardVerdict, localResult, toVerdict, type VerdictContext } from './verdict.js';
import { MAX_COST, VerdictCache } from './verdict-cache.js';

/** The methods that carry an API key; Basic and the session cookie are Latchkey's own. */
export type KeyMethodSwitch = Extract<AuthMethodSwitch, 'header' | 'bearer' | 'token' | 'query'>;
const KEY_METHODS: readonly KeyMethodSwitch[] = ['header', 'bearer', 'token', 'query'];

/**
 * Options of {@link createGuard}.
 *
 * @example
 * ```ts
 * const options: GuardOptions = {
 *   baseUrl: 'http://127.0.0.1:8800',
 *   credentials: { apiKey: process.env.LATCHKEY_VERIFIER_KEY! },
 *   apiKeyHeaders: ['X-API-Key', 'X-ArchiveBox-API-Key'],
 *   trustedProxies: ['127.0.0.1'],
 * };
 * ```
 */
export interface GuardOptions {
  /** Where Latchkey answers, for example `http://127.0.0.1:8800`. */
  baseUrl: string;
  /**
   * The service's own credential for `POST /api/v1/keys/verify`: a key of a superuser, or of a
   * user with `can_verify_keys` (a key with permissions needs `keys:verify`).
   */
  credentials: Credentials;
  /** Header names that carry an API key, as `LATCHKEY_API_KEY_HEADERS`. Default `['X-API-Key']`. */
  apiKeyHeaders?: readonly string[];
  /**
   * Where keys are accepted, as the key methods of `LATCHKEY_AUTH_METHODS`: `header`, `bearer`,
   * `token`, `query`. Default all four. A key sent another way is refused like a wrong one.
   */
  methods?: readonly KeyMethodSwitch[];
  /**
   * Proxies whose `X-Forwarded-For` is believed, as `LATCHKEY_TRUSTED_PROXIES` (addresses or
   * CIDR ranges). Used for Node requests when `check` is given no `clientIp`. Default none.
   */
  trustedProxies?: readonly string[];
  /** How long a verdict is reused, in milliseconds; 0 turns the cache off. Default 1000. */
  cacheTtlMs?: number;
  /** How many verdicts are kept at most (the oldest go first). Default 10 000. */
  cacheSize?: number;
  /** How long to wait for Latchkey before failing closed (503). Default 5000. */
  timeoutMs?: number;
  /** The fetch to send with; globalThis.fetch by default. */
  fetch?: typeof globalThis.fetch;
  /** The start of each problem's `type`, followed by its code. Default `<baseUrl>/docs/errors/`. */
  problemTypeBase?: string;
  /** The clock, in milliseconds since the epoch (for tests). Default `Date.now`. */
  now?: () => number;
}

/**
 * What one request asks of its key.
 *
 * @example
 * ```ts
 * const options: CheckOptions = { permissions: ['archive.snapshots:write'], cost: 5, clientIp: req.ip };
 * ```
 */
export interface CheckOptions {
  /** Permissions the key must hold, all of them (`archive.snapshots:write`). Default none. */
  permissions?: readonly string[];
  /** What the request takes from the key's rate limit: 0 to 1000. Default 1. */
  cost?: number;
  /**
   * The client's address, used as given (Express `req.ip`, Fastify `request.ip`, Koa `ctx.ip`
   * with their proxy settings; Hono `getConnInfo(c).remote.address`). Default: for a Node
   * request, its socket's address, or `X-Forwarded-For` through `trustedProxies`; for a
   * Fetch Request, none (a key limited to addresses is then refused).
   */
  clientIp?: string;
}

/**
 * Checks requests' API keys with Latchkey.
 *
 * @example
 * ```ts
 * const verdict = await guard.check(request, { permissions: ['archive.snapshots:read'] });
 * ```
 */
export interface Guard {
  /**
   * Finds the request's key where Latchkey would find it and asks Latchkey (or the cache)
   * whether it is good for this request. Never rejects for a bad request or an unreachable
   * Latchkey: those are verdicts (400, 401, 403, 429, 503). Throws a TypeError for bad
   * `permissions` or `cost`, which are the service's mistakes.
   */
  check(request: GuardRequest, options?: CheckOptions): Promise<GuardVerdict>;
  /** Forgets every cached verdict, for example after the service deactivated a key itself. */
  clear(): void;
}

/** What the verify API accepts as a key (its `key` schema): longer or other values cannot be keys. */
const KEY_TEXT = /^[\x21-\x7e]{1,512}$/;
const METHOD_TEXT = /^[A-Za-z]{1,16}$/;

function bound(
  name: string,
  value: number | undefined,
  fallback: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new TypeError(`${name} must be a whole number from 0 to ${max}; got ${value}`);
  }
  return value;
}

/** The permissions asked for, checked, without repeats, in order (so that equal sets share a cache entry). */
function requiredPermissions(permissions: readonly string[] | undefined): string[] {
  const out = new Set<string>();
  for (const permission of permissions ?? []) {
    const problem = typeof permission === 'string' ? permissionProblem(permission) : 'is not a string';
    if (problem) throw new TypeError(`permission "${String(permission)}" ${problem}`);
    out.add(permission);
  }
  return [...out].sort();
}

/**
 * Creates a guard for a Node service (or any runtime with fetch and Web Crypto) that
 * Latchkey's keys protect. `guard.check(request)` finds the key where Latchkey finds it (the
 * API-key headers, `Authorization: Bearer` or `Token`, `?api_key=`; two are refused), asks
 * `POST /api/v1/keys/verify` with the request's method, client address, permissions and
 * cost, and returns a typed verdict with the status, headers and problem to answer a refusal
 * with. Verdicts are reused for `cacheTtlMs` (1 s), so a deactivated key is refused at most
 * that long after Latchkey refuses it. When Latchkey cannot be asked, the verdict is
 * `UNAVAILABLE` (503): the guard fails closed.
 *
 * @example
 * ```ts
 * import { answerFor, createGuard } from '@latchkey/client/guard';
 *
 * const guard = createGuard({ baseUrl: 'http://127.0.0.1:8800', credentials: { apiKey: process.env.LATCHKEY_VERIFIER_KEY! } });
 * app.get('/api/v1/core/snapshots', async (req, res) => {
 *   const verdict = await guard.check(req, { permissions: ['archive.snapshots:read'] });
 *   const answer = answerFor(verdict);
 *   res.set(answer.headers);
 *   if (!verdict.valid) return res.status(answer.status).send(answer.body);
 *   res.json({ owner: verdict.owner?.username });
 * });
 * ```
 */
export function createGuard(options: GuardOptions): Guard {
  const methods = [...(options.methods ?? KEY_METHODS)];
  for (const method of methods) {
    if (!KEY_METHODS.includes(method)) {
      throw new TypeError(`methods may hold ${KEY_METHODS.join(', ')}; got ${String(method)}`);
    }
  }
  const apiKeyHeaders = [...(options.apiKeyHeaders ?? ['X-API-Key'])];
  const trustedProxies = [...(options.trustedProxies ?? [])];
  const ttlMs = bound('cacheTtlMs', options.cacheTtlMs, 1000);
  const cacheSize = bound('cacheSize', options.cacheSize, 10_000);
  const now = options.now ?? Date.now;
  const latchkey = createLatchkeyClient({
    baseUrl: options.baseUrl,
    credentials: options.credentials,
    timeoutMs: bound('timeoutMs', options.timeoutMs, 5000),
    // A 429 to the guard itself is no reason to hold the service's request: fail at once.
    maxRateLimitRetries: 0,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  const typeBase = options.problemTypeBase ?? `${options.baseUrl.replace(/\/+$/, '')}/docs/errors/`;
  const find = credentialFinder({ authMethods: methods, apiKeyHeaders });
  const digest = keyDigester();
  const cache = new VerdictCache(ttlMs, cacheSize);
  const useCache = ttlMs > 0 && cacheSize > 0;
  /** Verifications under way, by cache entry: requests with the same key and shape wait for the first. */
  const pending = new Map<string, Promise<unknown>>();

  async function check(request: GuardRequest, checkOptions: CheckOptions = {}): Promise<GuardVerdict> {
    const required = requiredPermissions(checkOptions.permissions);
    const cost = bound('cost', checkOptions.cost, 1, MAX_COST);
    const facts = readRequest(request);
    const context = (source: string | null, clientIp: string | null): VerdictContext => ({
      authMethods: methods,
      apiKeyHeaders,
      typeBase,
      required,
      source,
      clientIp,
      cached: false,
      now: now(),
    });

    let presented: ReturnType<typeof find>;
    try {
      presented = find(facts.source);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      return toVerdict(localResult('MULTIPLE_CREDENTIALS'), { ...context(null, null), detail: err.detail });
    }
    if (!presented) return toVerdict(localResult('NO_KEY'), context(null, null));
    // A login JWT, Basic, or a credential sent a way that is switched off: none is a key.
    if (presented.type !== 'key' || !KEY_TEXT.test(presented.value)) {
      return toVerdict(localResult('INVALID_FORMAT'), context(presented.source, null));
    }

    const given = checkOptions.clientIp ?? resolveFromSocket(facts);
    const clientIp = given === undefined ? null : (canonicalAddress(given) ?? null);
    const ctx = context(presented.source, clientIp);
    const unsafe = !isSafeMethod(facts.method);
    const name = await digest(presented.value);
    const shape = `${clientIp ?? ''}|${unsafe ? 'w' : 'r'}|${required.join(' ')}`;

    if (useCache) {
      const waiting = pending.get(`${name}|${shape}`);
      if (waiting) await waiting;
      const cached = cache.take(name, shape, cost, now());
      if (cached) return toVerdict(cached, { ...ctx, cached: true, now: now() });
    }

    const sent = useCache ? cache.costToSend(name, cost) : cost;
    const entry = `${name}|${shape}`;
    const asking = (async () => {
      const { data } = await verifyKey({
        client: latchkey.http,
        body: {
          key: presented.value,
          method: METHOD_TEXT.test(facts.method) ? facts.method : 'POST',
          ...(clientIp ? { client_ip: clientIp } : {}),
          ...(required.length ? { permissions: required } : {}),
          cost: sent,
        },
      });
      const result = data as VerifyResult;
      if (useCache) cache.store(name, shape, result, cost, sent, now());
      return result;
    })();
    if (useCache) {
      const settled = asking.then(
        () => undefined,
        () => undefined,
      );
      pending.set(entry, settled);
      void settled.then(() => {
        if (pending.get(entry) === settled) pending.delete(entry);
      });
    }
    try {
      return toVerdict(await asking, { ...ctx, now: now() });
    } catch (error) {
      return toVerdict(localResult('UNAVAILABLE'), { ...ctx, now: now(), error });
    }
  }

  function resolveFromSocket(facts: ReturnType<typeof readRequest>): string | undefined {
    if (!facts.remoteAddress) return undefined;
    return resolveClientIp(facts.remoteAddress, facts.header('x-forwarded-for'), trustedProxies);
  }

  return { check, clear: () => cache.clear() };
}
