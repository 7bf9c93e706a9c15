import { ApiError, type FieldError } from '@latchkey/core';
import type { Middleware } from 'koa';
import type { Request as ContractRequest, OpenAPIBackend, Operation } from 'openapi-backend';
import { Authenticator } from '../auth/authenticator.js';
import type { CredentialSource, Principal } from '../auth/credential.js';
import { QUERY_KEY_PARAM } from '../auth/query-param.js';
import type { Config } from '../config/config.js';
import type { Handler } from '../handlers/handler.js';
import type { Services } from '../services.js';

interface AjvError {
  instancePath: string;
  keyword: string;
  message?: string;
  params?: Record<string, unknown>;
}

/** Names the field at fault: `body.name`, `query.limit`, `path.key_id`. */
export function fieldErrors(errors: AjvError[]): FieldError[] {
  const out: FieldError[] = [];
  for (const e of errors) {
    if (e.keyword === 'if' || e.keyword === 'allOf') continue;
    const parts = e.instancePath.split('/').filter(Boolean);
    const where = parts[0] === 'requestBody' ? 'body' : (parts[0] ?? 'body');
    let path = [where, ...parts.slice(1)]
      .map((p, i) => (i > 0 && /^\d+$/.test(p) ? `[${p}]` : p))
      .join('.')
      .replace(/\.\[/g, '[');
    let message = e.message ?? 'is invalid';
    if (e.keyword === 'required' && typeof e.params?.missingProperty === 'string') {
      const missing = e.params.missingProperty;
      path = missing === 'requestBody' ? 'body' : `${path}.${missing}`;
      message = 'is required';
    } else if (e.keyword === 'additionalProperties' && typeof e.params?.additionalProperty === 'string') {
      path = `${path}.${e.params.additionalProperty}`;
      message = 'is not an accepted field';
    }
    if (!out.some((o) => o.field === path && o.message === message)) out.push({ field: path, message });
  }
  return out;
}

function credentialSource(ctx: Parameters<Middleware>[0]): CredentialSource {
  return {
    header: (name) => {
      const v = ctx.headers[name.toLowerCase()];
      return Array.isArray(v) ? v.join(', ') : v;
    },
    queryParam: (name) => ctx.query[name],
    cookie: (name) => ctx.cookies.get(name),
  };
}

/** The path of the first string holding a NUL character, which no database stores as text. */
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

/** Operations that check a password themselves: their failures count towards a lockout. */
const PASSWORD_OPERATIONS = new Set(['login', 'getApiToken']);
/** Operations that check their own credential (the metrics token), not a user's. */
const SELF_CHECKED_OPERATIONS = new Set(['getMetrics']);
/** Health checks come from load balancers many times a minute and are never limited. */
const UNLIMITED_OPERATIONS = new Set(['getHealth']);

const JSON_TYPE = /^application\/([\w.+-]+\+)?json$/i;

/**
 * Routes a request through the contract: match the operation, authenticate when its
 * security asks for it, validate the request, then call the handler for its operationId.
 */
export function contractRouter(
  api: OpenAPIBackend,
  handlers: Record<string, Handler>,
  services: Services,
  config: Config,
): Middleware {
  return async (ctx) => {
    const query = { ...ctx.query };
    delete query[QUERY_KEY_PARAM];
    const request: ContractRequest = {
      // HEAD is GET without the body (Koa drops it); the contract describes the GET.
      method: ctx.method === 'HEAD' ? 'GET' : ctx.method,
      path: ctx.path,
      headers: ctx.headers as ContractRequest['headers'],
      query: query as ContractRequest['query'],
      body: ctx.request.body,
    };
    const operation = api.matchOperation(request) as Operation | undefined;
    if (!operation) {
      const pathExists = ['get', 'post', 'put', 'patch', 'delete'].some((method) =>
        api.matchOperation({ ...request, method }),
      );
      if (pathExists)
        throw new ApiError('METHOD_NOT_ALLOWED', `${ctx.method} is not allowed on ${ctx.path}.`);
      throw new ApiError('NOT_FOUND', `Nothing is at ${ctx.method} ${ctx.path}.`);
    }
    ctx.state.operation = operation;
    const operationId = operation.operationId as string;
    const { protection } = services;
    const clientIp = protection.clientIp(ctx.request.socket.remoteAddress ?? '', ctx.get('x-forwarded-for'));
    ctx.state.clientIp = clientIp;

    const security = operation.security ?? (api.definition.security as unknown[] | undefined) ?? [];
    const authenticates = security.length > 0 && !SELF_CHECKED_OPERATIONS.has(operationId);
    const guarded = authenticates || PASSWORD_OPERATIONS.has(operationId);
    const { failures } = guarded ? await protection.assertNotLockedOut(clientIp) : { failures: 0 };

    let principal: Principal | undefined;
    if (authenticates) {
      try {
        principal = await services.authenticator.authenticate({
          method: ctx.method,
          clientIp,
          source: credentialSource(ctx),
        });
      } catch (err) {
        services.metrics.authenticationFailed(err, () =>
          services.authenticator.present(credentialSource(ctx)),
        );
        if (err instanceof ApiError && err.status === 401) {
          await protection.recordFailure(clientIp, `${ctx.method} ${ctx.path}: ${err.code}`);
        }
        throw err;
      }
      await protection.recordSuccess(clientIp, failures);
      services.metrics.authenticated(principal.method);
      ctx.set(Authenticator.headers(principal));
      ctx.state.userId = principal.user.id;
      if (principal.method === 'QueryParamTokenAuth') ctx.set('Cache-Control', 'private, no-store');
    }

    if (!UNLIMITED_OPERATIONS.has(operationId)) {
      const decision = await protection.consume(principal, clientIp);
      ctx.set(decision.headers);
      if (!decision.allowed) {
        services.metrics.rateLimited(protection.policyFor(principal).name);
        throw new ApiError(
          'RATE_LIMITED',
          `Rate limit exceeded; try again in ${decision.retryAfterS} seconds.`,
          { headers: { 'Retry-After': String(decision.retryAfterS) }, retryAfter: decision.retryAfterS },
        );
      }
    }

    const hasBody = (ctx.request.length ?? 0) > 0 || ctx.get('transfer-encoding') !== '';
    if (operation.requestBody && hasBody) {
      const type = (ctx.request.type || '').toLowerCase();
      if (!JSON_TYPE.test(type)) {
        throw new ApiError(
          'UNSUPPORTED_MEDIA_TYPE',
          `Send the body as application/json, not ${type || 'without a Content-Type'}.`,
        );
      }
    }
    const nul = findNul(request.body);
    if (nul) throw ApiError.field(nul, 'must not contain the NUL character (\\u0000)');
    const validation = api.validateRequest(request, operation);
    if (!validation.valid) {
      const errors = fieldErrors((validation.errors ?? []) as AjvError[]);
      throw new ApiError('VALIDATION_FAILED', errors.map((e) => `${e.field}: ${e.message}`).join('; '), {
        errors,
      });
    }

    const handler = handlers[operation.operationId as string];
    if (!handler) throw new ApiError('NOT_FOUND', `Nothing is at ${ctx.method} ${ctx.path}.`);
    const run = () =>
      handler({
        koa: ctx,
        principal,
        clientIp,
        params: (validation.coerced.params ?? request.params ?? {}) as Record<string, string>,
        query: (validation.coerced.query ?? {}) as Record<string, unknown>,
        body: request.body,
        services,
        config,
      });
    let result: Awaited<ReturnType<Handler>>;
    if (PASSWORD_OPERATIONS.has(operationId)) {
      try {
        result = await run();
      } catch (err) {
        if (err instanceof ApiError && err.status === 401) await protection.recordFailure(clientIp);
        throw err;
      }
      await protection.recordSuccess(clientIp, failures);
    } else {
      result = await run();
    }
    ctx.status = result.status;
    if (result.headers) ctx.set(result.headers);
    if (result.body !== undefined) {
      ctx.body = result.body;
      if (result.contentType) ctx.type = result.contentType;
    }
  };
}
