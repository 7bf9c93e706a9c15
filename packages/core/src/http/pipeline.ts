import { ApiError, toProblem } from '../api-error.js';
import { anonymousActor } from '../audit/audit.record.js';
import { Authenticator } from '../auth/authenticator.js';
import { type CredentialSource, type Principal, QUERY_KEY_PARAM } from '../auth/credential.js';
import type { RulesConfig } from '../config.js';
import { inspectBody } from '../contract/body.js';
import type { ContractRouter } from '../contract/operations.js';
import type { ContractDocument } from '../contract/types.js';
import type { ContractValidator } from '../contract/validation.js';
import type { CoreServices } from '../core.js';
import { missingPermissions } from '../keys/permissions.js';
import type { CoreEvent, ErrorReporter } from '../ports.js';
import { FORWARD_OPERATIONS, originalRequest, passesAnonymously } from './forward.js';
import type { CookieSpec, Handler, HandlerContext, HandlerResult } from './handler.js';
import { parseQuery } from './query.js';

/** A body as the adapter read it: whether one came, whether it was JSON, and its value. */
export interface IncomingBody {
  present: boolean;
  json: boolean;
  /** The media type without parameters, lower-case. */
  type: string;
  value: unknown;
}

export const NO_BODY: IncomingBody = { present: false, json: false, type: '', value: undefined };

/** One request as an adapter (Koa, msw, the mock's HTTP server) hands it over. */
export interface IncomingRequest {
  method: string;
  /** The path, without the query string. */
  path: string;
  /** The raw query string, without `?`. */
  search: string;
  /** A header by lower-case name; a repeated header joined with ", ". */
  header(name: string): string | undefined;
  cookie(name: string): string | undefined;
  clientIp: string;
  secure: boolean;
  body: IncomingBody;
  /** The request's id, named in problem bodies as `request_id`. */
  requestId?: string | undefined;
}

/** The answer, for the adapter to write. */
export interface OutgoingResponse {
  status: number;
  headers: Record<string, string>;
  /** JSON (an object) or text (with `contentType`); undefined for none. */
  body?: unknown;
  contentType?: string;
  cookies: CookieSpec[];
  /** The operation that answered, when one matched. */
  operationId?: string;
  principal?: Principal;
}

/**
 * Operations that check a password themselves: a refused password counts towards a lockout,
 * and only an accepted one clears the address's failures.
 */
export const PASSWORD_OPERATIONS: ReadonlySet<string> = new Set(['login', 'getApiToken', 'changePassword']);

/** A refusal of the password an operation checked. */
const refusesPassword = (err: unknown) =>
  err instanceof ApiError && (err.status === 401 || err.code === 'CURRENT_PASSWORD_WRONG');
/** Health checks come from load balancers many times a minute and are never limited. */
export const UNLIMITED_OPERATIONS: ReadonlySet<string> = new Set(['getHealth', 'verifyKey']);

export const PROBLEM_JSON = 'application/problem+json';

export interface PipelineOptions {
  router: ContractRouter;
  validator: ContractValidator;
  document: ContractDocument;
  services: CoreServices;
  config: RulesConfig;
  handlers: Readonly<Record<string, Handler>>;
  report: ErrorReporter;
  observe?: ((event: CoreEvent) => void) | undefined;
}

/**
 * The request pipeline the server and the mock both run, in this order: route by the
 * contract (404/405), refuse a locked-out address, authenticate when the operation's
 * security asks for it, count the request against its rate limit, check the media type,
 * inspect and validate the request, then call the operation's handler. Every refusal is an
 * application/problem+json response with a stable code.
 */
export class Pipeline {
  constructor(private readonly options: PipelineOptions) {}

  /** Answers one request; never throws. */
  async handle(request: IncomingRequest): Promise<OutgoingResponse> {
    const out: OutgoingResponse = { status: 500, headers: {}, cookies: [] };
    try {
      await this.run(request, out);
    } catch (err) {
      const error = this.asApiError(err, request);
      out.status = error.status;
      Object.assign(out.headers, error.headers);
      if (error.status === 401 && !out.headers['WWW-Authenticate']) {
        out.headers['WWW-Authenticate'] = this.options.services.authenticator.challenge('invalid_token');
      }
      out.body = toProblem(error, request.path, request.requestId);
      out.contentType = PROBLEM_JSON;
      out.cookies = [];
    }
    return out;
  }

  /**
   * Rethrows a refused authentication, after telling metrics; a wrong credential counts
   * towards the address's lockout (a request without any credential is no attempt to guess one).
   */
  private async refuseAuthentication(
    err: unknown,
    request: IncomingRequest,
    source: CredentialSource,
  ): Promise<never> {
    const { services, observe } = this.options;
    observe?.({
      type: 'authentication_failed',
      error: err,
      presented: () => services.authenticator.present(source),
    });
    if (err instanceof ApiError && err.code === 'AUTHENTICATION_FAILED') {
      const left = await services.protection.recordFailure(
        request.clientIp,
        `${request.method} ${request.path}: ${err.code}`,
      );
      throw withWarning(err, services.protection.lastAttemptWarning(left));
    }
    throw err;
  }

  private asApiError(err: unknown, request: IncomingRequest): ApiError {
    if (err instanceof ApiError) return err;
    this.options.report('unhandled error', {
      err,
      method: request.method,
      path: request.path,
      ...(request.requestId ? { requestId: request.requestId } : {}),
    });
    return new ApiError('INTERNAL_ERROR', 'The server failed to answer this request.');
  }

  private async run(request: IncomingRequest, out: OutgoingResponse): Promise<void> {
    const { router, validator, services, config, handlers, observe } = this.options;
    const { protection, authenticator } = services;
    const route = router.match(request.method, request.path);
    if (!route.found) {
      if (route.pathExists) {
        throw new ApiError(
          'METHOD_NOT_ALLOWED',
          `${request.method} is not allowed on ${request.path}; it answers ${route.allowed.join(', ')}.`,
          { headers: { Allow: route.allowed.join(', ') } },
        );
      }
      throw new ApiError('NOT_FOUND', `Nothing is at ${request.method} ${request.path}.`);
    }
    const { spec } = route;
    const operationId = spec.operationId;
    out.operationId = operationId;
    const clientIp = request.clientIp;
    const query = parseQuery(request.search);
    // Forward authentication decides about the proxy's request: its method, and its query
    // string for `?api_key=`; the headers and cookies are the proxy's copy of the original's.
    const original = FORWARD_OPERATIONS.has(operationId) ? originalRequest(request.header) : undefined;
    const credentialQuery = original ? original.query : query;
    const source: CredentialSource = {
      header: (name) => request.header(name),
      cookie: (name) => request.cookie(name),
      queryParam: (name) => credentialQuery[name],
    };

    const passwordCheck = PASSWORD_OPERATIONS.has(operationId);
    const lock =
      spec.authenticates || passwordCheck
        ? await protection.assertNotLockedOut(clientIp).catch((err: unknown) => {
            observe?.({ type: 'locked_out_refusal' });
            throw err;
          })
        : undefined;

    let principal: Principal | undefined;
    let anonymous = false;
    if (spec.authenticates) {
      try {
        principal = await authenticator.authenticate({
          method: original?.method ?? request.method,
          clientIp,
          source,
        });
      } catch (err) {
        // Behind a proxy, a request without any credential may read anonymously, when the
        // operator allows it; a wrong credential never passes.
        anonymous =
          original !== undefined &&
          err instanceof ApiError &&
          err.code === 'AUTHENTICATION_REQUIRED' &&
          passesAnonymously(config.loginRequired, original);
        if (!anonymous) await this.refuseAuthentication(err, request, source);
      }
    }
    if (anonymous) out.headers['X-Auth-Method'] = 'Anonymous';
    if (principal) {
      observe?.({ type: 'authenticated', method: principal.method });
      if (lock && !passwordCheck) await protection.recordSuccess(clientIp, lock);
      out.principal = principal;
      Object.assign(out.headers, Authenticator.headers(principal));
      if (principal.method === 'QueryParamTokenAuth') out.headers['Cache-Control'] = 'private, no-store';
      const held = principal.key?.permissions;
      if (held && spec.permission && missingPermissions(held, [spec.permission]).length) {
        throw new ApiError(
          'INSUFFICIENT_PERMISSIONS',
          `Valid API key, but it lacks the permission ${spec.permission} that ${operationId} needs; it holds ${held.length ? held.join(', ') : 'no permission'}.`,
        );
      }
    }

    if (!UNLIMITED_OPERATIONS.has(operationId)) {
      const decision = await protection.consume(principal, clientIp);
      Object.assign(out.headers, decision.headers);
      if (!decision.allowed) {
        observe?.({ type: 'rate_limited', policy: protection.policyFor(principal).name });
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

    const { body } = request;
    if (spec.operation.requestBody && body.present && !body.json) {
      throw new ApiError(
        'UNSUPPORTED_MEDIA_TYPE',
        `Send the body as application/json, not ${body.type || 'without a Content-Type'}.`,
      );
    }
    inspectBody(body.value);
    if (query[QUERY_KEY_PARAM] !== undefined) delete query[QUERY_KEY_PARAM];
    const validation = validator.validateRequest(spec, { params: route.params, query, body: body.value });
    if (!validation.ok) {
      throw new ApiError(
        'VALIDATION_FAILED',
        validation.errors.map((e) => `${e.field}: ${e.message}`).join('; '),
        {
          errors: validation.errors,
        },
      );
    }

    const handler = handlers[operationId];
    if (!handler) throw new ApiError('NOT_FOUND', `Nothing is at ${request.method} ${request.path}.`);
    const context: HandlerContext = {
      principal,
      actor: principal
        ? { id: principal.user.id, username: principal.user.username, clientIp, via: 'api' }
        : anonymousActor(clientIp),
      clientIp,
      path: request.path,
      search: new URLSearchParams(request.search),
      secure: request.secure,
      header: request.header,
      params: validation.params,
      query: validation.query,
      body: body.value,
      services,
      config,
      document: this.options.document,
    };
    let result: HandlerResult;
    if (passwordCheck) {
      try {
        result = await handler(context);
      } catch (err) {
        if (refusesPassword(err)) {
          const left = await protection.recordFailure(clientIp);
          throw withWarning(err as ApiError, protection.lastAttemptWarning(left));
        }
        throw err;
      }
      if (lock) await protection.recordSuccess(clientIp, lock);
    } else {
      result = await handler(context);
    }
    out.status = result.status;
    if (result.headers) Object.assign(out.headers, result.headers);
    if (result.cookies) out.cookies = result.cookies;
    if (result.body !== undefined) {
      out.body = result.body;
      if (result.contentType) out.contentType = result.contentType;
    }
  }
}

/** The same refusal with a sentence added to its detail. */
function withWarning(error: ApiError, warning: string): ApiError {
  if (!warning) return error;
  return new ApiError(error.code, `${error.detail}${warning}`, {
    headers: error.headers,
    ...(error.errors ? { errors: error.errors } : {}),
  });
}
