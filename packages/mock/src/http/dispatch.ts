import { ApiError, toProblem } from '@latchkey/core';
import type { OperationSpec } from '../contract/operations.js';
import type { ContractDocument } from '../contract/types.js';
import type { ContractValidator } from '../contract/validation.js';
import type { MockHandler, MockResult } from '../handlers/context.js';
import type { RateLimitPolicy } from '../store/rate-limit.js';
import type { MockStore } from '../store/store.js';
import { authenticate, authHeaders, type Principal } from './authenticate.js';
import { notifyObservers } from './observe.js';

/** Operations that check a password themselves: their failures count towards a lockout. */
const PASSWORD_OPERATIONS = new Set(['login', 'getApiToken']);
/** Health checks are never rate limited (load balancers call them often). */
const UNLIMITED_OPERATIONS = new Set(['getHealth']);
const JSON_TYPE = /^application\/([\w.+-]+\+)?json$/i;

/** The path of the first string holding a NUL character, which the server refuses. */
export function findNul(value: unknown, path = 'body'): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? path : undefined;
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const found = findNul(item, `${path}[${i}]`);
      if (found) return found;
    }
  } else if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      const found = findNul(item, `${path}.${key}`) ?? findNul(key, `${path}.${key}`);
      if (found) return found;
    }
  }
  return undefined;
}

/** A problem response outside any operation: 404 for an unknown path, 405 for a known path and another method. */
export function noOperation(request: Request, pathExists: boolean): Response {
  const url = new URL(request.url);
  const error = pathExists
    ? new ApiError('METHOD_NOT_ALLOWED', `${request.method} is not allowed on ${url.pathname}.`)
    : new ApiError('NOT_FOUND', `Nothing is at ${request.method} ${url.pathname}.`);
  return new Response(JSON.stringify(toProblem(error, url.pathname)), {
    status: error.status,
    headers: { 'Content-Type': 'application/problem+json' },
  });
}

/** What the dispatcher needs besides the request. */
export interface DispatchRuntime {
  store: MockStore;
  document: ContractDocument;
  validator: ContractValidator;
  handlers: Readonly<Record<string, MockHandler>>;
}

/** Counts a failed authentication; the failure that starts a lock is audited. */
function recordFailure(store: MockStore, address: string, detail?: string): void {
  const lock = store.lockouts.fail(address);
  if (lock) {
    store.audit.record({
      action: 'auth.locked_out',
      outcome: 'failure',
      actor: { clientIp: address },
      target: { type: 'address', id: address },
      detail: `locked until ${new Date(lock.lockedUntil).toISOString()} after ${store.config.lockoutAttempts} failures`,
    });
  }
  if (detail !== undefined) {
    store.audit.record({ action: 'auth.failed', outcome: 'failure', actor: { clientIp: address }, detail });
  }
}

function policyFor(store: MockStore, principal: Principal | undefined): RateLimitPolicy {
  const own = principal?.key?.rate_limit;
  if (own) return { name: 'key', limit: own.limit, windowS: own.window_s };
  return { name: 'default', limit: store.config.rateLimit, windowS: store.config.rateWindowS };
}

async function readBody(
  store: MockStore,
  request: Request,
): Promise<{ present: boolean; json: boolean; value: unknown; type: string }> {
  const type = (request.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (request.method === 'GET' || request.method === 'HEAD')
    return { present: false, json: false, value: undefined, type };
  const text = await request.text();
  if (new TextEncoder().encode(text).length > store.config.maxBodyBytes) {
    throw new ApiError('PAYLOAD_TOO_LARGE', 'The request body is larger than the server accepts.');
  }
  const json = JSON_TYPE.test(type);
  if (text === '') return { present: false, json, value: undefined, type };
  if (!json) return { present: true, json, value: undefined, type };
  try {
    return { present: true, json, value: JSON.parse(text) as unknown, type };
  } catch {
    throw ApiError.field('body', 'is not valid JSON', 'MALFORMED_JSON');
  }
}

function toResponse(result: MockResult, headers: Headers): Response {
  for (const [name, value] of Object.entries(result.headers ?? {})) headers.set(name, value);
  for (const cookie of result.cookies ?? []) headers.append('Set-Cookie', cookie);
  if (result.body === undefined || result.status === 204)
    return new Response(null, { status: result.status, headers });
  if (result.contentType) {
    headers.set('Content-Type', result.contentType);
    return new Response(String(result.body), { status: result.status, headers });
  }
  headers.set('Content-Type', 'application/json; charset=utf-8');
  return new Response(JSON.stringify(result.body), { status: result.status, headers });
}

/**
 * Answers one request for one operation as the server would: lockout, authentication,
 * rate limit, media type, request validation against the contract, then the operation's
 * handler; every refusal is an application/problem+json body with the server's code.
 */
export async function dispatch(
  runtime: DispatchRuntime,
  spec: OperationSpec,
  request: Request,
  params: Record<string, string>,
  clientIp: string,
): Promise<Response> {
  const { store } = runtime;
  const url = new URL(request.url);
  const headers = new Headers();
  let response: Response;
  try {
    const body = await readBody(store, request.clone());
    const guarded = spec.authenticates || PASSWORD_OPERATIONS.has(spec.operationId);
    const lock = guarded ? store.lockouts.state(clientIp) : undefined;
    if (lock?.locked) {
      throw new ApiError(
        'LOCKED_OUT',
        `Too many failed authentication attempts from this address; try again in ${lock.retryAfterS} seconds.`,
        { headers: { 'Retry-After': String(lock.retryAfterS) }, retryAfter: lock.retryAfterS },
      );
    }
    let principal: Principal | undefined;
    if (spec.authenticates) {
      try {
        principal = authenticate(store, request, clientIp);
      } catch (err) {
        if (err instanceof ApiError && err.status === 401) {
          recordFailure(store, clientIp, `${request.method} ${url.pathname}: ${err.code}`);
        }
        throw err;
      }
      if (lock && lock.failures > 0) store.lockouts.succeed(clientIp);
      for (const [name, value] of Object.entries(authHeaders(principal))) headers.set(name, value);
      if (principal.method === 'QueryParamTokenAuth') headers.set('Cache-Control', 'private, no-store');
    }
    if (!UNLIMITED_OPERATIONS.has(spec.operationId)) {
      const identity = principal
        ? principal.key
          ? `key:${principal.key.id}`
          : `user:${principal.user.id}`
        : `ip:${clientIp}`;
      const decision = store.limiter.consume(identity, policyFor(store, principal));
      for (const [name, value] of Object.entries(decision.headers)) headers.set(name, value);
      if (!decision.allowed) {
        throw new ApiError(
          'RATE_LIMITED',
          `Rate limit exceeded; try again in ${decision.retryAfterS} seconds.`,
          {
            headers: { 'Retry-After': String(decision.retryAfterS) },
            retryAfter: decision.retryAfterS,
          },
        );
      }
    }
    if (spec.operation.requestBody && body.present && !body.json) {
      throw new ApiError(
        'UNSUPPORTED_MEDIA_TYPE',
        `Send the body as application/json, not ${body.type || 'without a Content-Type'}.`,
      );
    }
    const query: Record<string, string | string[]> = {};
    for (const name of new Set(url.searchParams.keys())) {
      if (name === 'api_key') continue;
      const all = url.searchParams.getAll(name);
      query[name] = all.length > 1 ? all : (all[0] ?? '');
    }
    const nul = findNul(body.value);
    if (nul) throw ApiError.field(nul, 'must not contain the NUL character (\\u0000)');
    const validation = runtime.validator.validateRequest(spec, { params, query, body: body.value });
    if (!validation.ok) {
      throw new ApiError(
        'VALIDATION_FAILED',
        validation.errors.map((e) => `${e.field}: ${e.message}`).join('; '),
        {
          errors: validation.errors,
        },
      );
    }
    const handler = runtime.handlers[spec.operationId];
    if (!handler) throw new ApiError('NOT_FOUND', `Nothing is at ${request.method} ${url.pathname}.`);
    const run = () =>
      handler({
        store,
        request,
        url,
        principal,
        clientIp,
        params: validation.params,
        query: validation.query,
        body: body.value,
        document: runtime.document,
      });
    let result: MockResult;
    if (PASSWORD_OPERATIONS.has(spec.operationId)) {
      try {
        result = await run();
      } catch (err) {
        if (err instanceof ApiError && err.status === 401) recordFailure(store, clientIp);
        throw err;
      }
      if (lock && lock.failures > 0) store.lockouts.succeed(clientIp);
    } else {
      result = await run();
    }
    response = toResponse(result, headers);
  } catch (err) {
    const error =
      err instanceof ApiError
        ? err
        : new ApiError('INTERNAL_ERROR', `The mock failed to answer this request: ${(err as Error).message}`);
    for (const [name, value] of Object.entries(error.headers)) headers.set(name, value);
    headers.set('Content-Type', 'application/problem+json');
    response = new Response(JSON.stringify(toProblem(error, url.pathname)), {
      status: error.status,
      headers,
    });
  }
  const answered = response;
  notifyObservers(() => ({ operationId: spec.operationId, request, response: answered.clone() }));
  return response;
}
