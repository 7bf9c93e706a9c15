import {
  ApiError,
  type AuthMethodSwitch,
  BAD_CREDENTIAL,
  type ErrorCode,
  missingPermissions,
  type Problem,
  toProblem,
  wwwAuthenticate,
} from '@latchkey/core/credentials';
import type { VerifyResult } from '../generated/types.gen.js';

/**
 * Why a request may or may not go on: Latchkey's own codes (`VALID`, `NOT_FOUND`, `DISABLED`,
 * `EXPIRED`, `INSUFFICIENT_PERMISSIONS`, `READ_ONLY`, `IP_NOT_ALLOWED`, `RATE_LIMITED`,
 * `INVALID_FORMAT`) and the guard's: `NO_KEY` (the request carries no credential),
 * `MULTIPLE_CREDENTIALS` (it carries more than one) and `UNAVAILABLE` (Latchkey could not be
 * asked).
 *
 * @example
 * ```ts
 * const code: GuardCode = verdict.code; // 'READ_ONLY'
 * ```
 */
export type GuardCode = VerifyResult['code'] | 'NO_KEY' | 'MULTIPLE_CREDENTIALS' | 'UNAVAILABLE';

/**
 * A problem document in Latchkey's shape; `type` is the code's page on the Latchkey server.
 *
 * @example
 * ```ts
 * const problem: GuardProblem = verdict.problem!; // { type, title, status: 403, code: 'KEY_READ_ONLY', detail }
 * ```
 */
export type GuardProblem = Problem;

/**
 * The guard's answer about one request. The fields of Latchkey's verdict (`key_id`, `owner`,
 * `permissions`, `write_enabled`, `expires_at`, `ratelimit`; null where they mean nothing),
 * plus what the service needs to answer: `status`, `headers` and, when refused, `problem`.
 *
 * @example
 * ```ts
 * const verdict: GuardVerdict = await guard.check(req, { permissions: ['archive.snapshots:read'] });
 * if (verdict.valid) console.log(verdict.owner?.username, verdict.ratelimit?.remaining);
 * else console.log(verdict.status, verdict.problem?.code); // 403 INSUFFICIENT_PERMISSIONS
 * ```
 */
export interface GuardVerdict extends Omit<VerifyResult, 'code'> {
  /** True only for `VALID`: let the request through. */
  valid: boolean;
  code: GuardCode;
  /** Where the key was found (`X-API-Key`, `Authorization: Token`, `?api_key`, …); null when none was. */
  source: string | null;
  /** The client address given to Latchkey; null when the guard did not know it. */
  client_ip: string | null;
  /** True when the guard answered from its cache without asking Latchkey. */
  cached: boolean;
  /** The HTTP status to answer with: 200 when valid, else 400, 401, 403, 429 or 503. */
  status: number;
  /**
   * Headers for the answer: the rate limit whenever it was counted (`X-RateLimit-Limit`,
   * `-Remaining`, `-Reset`, `RateLimit`, `RateLimit-Policy`), and for a refusal
   * `WWW-Authenticate` (401) or `Retry-After` (429).
   */
  headers: Record<string, string>;
  /** The refusal as `application/problem+json`; null when valid. */
  problem: GuardProblem | null;
  /** For `UNAVAILABLE`: what went wrong (a `NetworkError`, a `LatchkeyError`, …). */
  error?: unknown;
}

/** What a verdict is built from besides Latchkey's answer. */
export interface VerdictContext {
  authMethods: readonly AuthMethodSwitch[];
  apiKeyHeaders: readonly string[];
  /** The problem `type` is this followed by the code. */
  typeBase: string;
  /** The permissions the request asked for. */
  required: readonly string[];
  source: string | null;
  clientIp: string | null;
  cached: boolean;
  now: number;
  /** The detail of a refusal the guard made itself (two credentials). */
  detail?: string;
  /** For UNAVAILABLE: what went wrong. */
  error?: unknown;
}

/** Latchkey's fields when no key was looked up. */
const NOTHING = { key_id: null, owner: null, permissions: null, write_enabled: null, expires_at: null };

/** A verdict of the guard's own, before anything was asked: every field of Latchkey's null. */
export function localResult(code: GuardCode): Omit<VerifyResult, 'code'> & { code: GuardCode } {
  return { valid: false, code, ...NOTHING, ratelimit: null };
}

const RATE_LIMIT_POLICY = '"latchkey"';

/** Where the guard looks for a key, in words: "in the X-API-Key header, as Authorization: Bearer <key> or as ?api_key=<key>". */
function whereKeysGo(methods: readonly AuthMethodSwitch[], headers: readonly string[]): string {
  const ways: string[] = [];
  if (methods.includes('header') && headers.length) ways.push(`in the ${headers.join(' or ')} header`);
  if (methods.includes('bearer')) ways.push('as Authorization: Bearer <key>');
  if (methods.includes('token')) ways.push('as Authorization: Token <key>');
  if (methods.includes('query')) ways.push('as ?api_key=<key>');
  return ways.length > 1 ? `${ways.slice(0, -1).join(', ')} or ${ways.at(-1)}` : (ways[0] ?? '');
}

function refusal(
  code: GuardCode,
  result: { permissions: string[] | null },
  ctx: VerdictContext,
  retryAfter: number,
): ApiError {
  const invalid = { headers: { 'WWW-Authenticate': wwwAuthenticate(ctx.authMethods, 'invalid_token') } };
  switch (code) {
    case 'NO_KEY':
      return new ApiError(
        'AUTHENTICATION_REQUIRED',
        `This request needs an API key: send it ${whereKeysGo(ctx.authMethods, ctx.apiKeyHeaders)}.`,
        { headers: { 'WWW-Authenticate': wwwAuthenticate(ctx.authMethods) } },
      );
    case 'MULTIPLE_CREDENTIALS':
      return new ApiError('MULTIPLE_CREDENTIALS', ctx.detail ?? 'Send one credential per request.');
    case 'INVALID_FORMAT':
    case 'NOT_FOUND':
    case 'DISABLED':
    case 'EXPIRED':
      // The same answer in every case, as Latchkey gives: nothing tells a guesser which it was.
      return new ApiError('AUTHENTICATION_FAILED', BAD_CREDENTIAL, invalid);
    case 'READ_ONLY':
      return new ApiError(
        'KEY_READ_ONLY',
        'Valid API key, but it is read-only (write_enabled is false); only GET, HEAD and OPTIONS are allowed.',
      );
    case 'INSUFFICIENT_PERMISSIONS': {
      const missing = missingPermissions(result.permissions, ctx.required);
      const held = result.permissions?.length ? result.permissions.join(', ') : 'no permission';
      return new ApiError(
        'INSUFFICIENT_PERMISSIONS',
        `Valid API key, but it lacks the permission ${missing.join(', ')} that this request needs; it holds ${held}.`,
      );
    }
    case 'IP_NOT_ALLOWED':
      return new ApiError(
        'IP_NOT_ALLOWED',
        ctx.clientIp
          ? `Valid API key, but it may not be used from ${ctx.clientIp}.`
          : 'Valid API key, but it is limited to some addresses and the address of this request is not known.',
      );
    case 'RATE_LIMITED':
      return new ApiError('RATE_LIMITED', `Rate limit exceeded; try again in ${retryAfter} seconds.`, {
        headers: { 'Retry-After': String(retryAfter) },
        retryAfter,
      });
    case 'UNAVAILABLE':
      // What went wrong is the service's business (verdict.error), not its client's.
      return new ApiError(
        'VERIFICATION_UNAVAILABLE',
        'The key could not be verified: Latchkey did not answer. Nothing was done; try again later.',
      );
    case 'VALID':
      throw new TypeError('a valid verdict is no refusal');
  }
}

/**
 * Turns Latchkey's answer (or the guard's own code) into a verdict with its status, headers
 * and problem.
 *
 * @example
 * ```ts
 * const verdict = toVerdict(result, { authMethods, apiKeyHeaders, typeBase, required: [], source: 'X-API-Key', clientIp: null, cached: false, now: Date.now() });
 * ```
 */
export function toVerdict(
  result: Omit<VerifyResult, 'code'> & { code: GuardCode },
  ctx: VerdictContext,
): GuardVerdict {
  const headers: Record<string, string> = {};
  const { ratelimit } = result;
  // Rounded up: waiting a moment too long is better than coming back a moment too soon.
  const resetIn = ratelimit ? Math.max(0, Math.ceil(ratelimit.reset - ctx.now / 1000)) : 0;
  if (ratelimit) {
    headers['X-RateLimit-Limit'] = String(ratelimit.limit);
    headers['X-RateLimit-Remaining'] = String(ratelimit.remaining);
    headers['X-RateLimit-Reset'] = String(ratelimit.reset);
    headers.RateLimit = `${RATE_LIMIT_POLICY};r=${ratelimit.remaining};t=${resetIn}`;
    headers['RateLimit-Policy'] = `${RATE_LIMIT_POLICY};q=${ratelimit.limit}`;
  }
  const verdict: GuardVerdict = {
    valid: result.code === 'VALID',
    code: result.code,
    key_id: result.key_id,
    owner: result.owner,
    permissions: result.permissions,
    write_enabled: result.write_enabled,
    expires_at: result.expires_at,
    ratelimit: ratelimit ? { ...ratelimit } : null,
    source: ctx.source,
    client_ip: ctx.clientIp,
    cached: ctx.cached,
    status: 200,
    headers,
    problem: null,
  };
  if (ctx.error !== undefined) verdict.error = ctx.error;
  if (verdict.valid) return verdict;

  const error = refusal(result.code, result, ctx, Math.max(1, resetIn));
  const problem = toProblem(error);
  problem.type = `${ctx.typeBase}${error.code satisfies ErrorCode}`;
  verdict.status = error.status;
  verdict.problem = problem;
  Object.assign(headers, error.headers, { 'Content-Type': 'application/problem+json' });
  return verdict;
}

/**
 * The HTTP answer for a verdict, ready to write with any framework: for a refusal its status,
 * headers (`Content-Type: application/problem+json`, `WWW-Authenticate`, `Retry-After`, the
 * rate limit) and the problem as JSON text; for a valid verdict status 200, the rate-limit
 * headers to add to your own answer, and no body.
 *
 * @example
 * ```ts
 * const verdict = await guard.check(req, { permissions: ['archive.snapshots:read'] });
 * const answer = answerFor(verdict);
 * res.set(answer.headers);
 * if (!verdict.valid) return res.status(answer.status).send(answer.body);
 * ```
 */
export function answerFor(verdict: GuardVerdict): GuardAnswer {
  return {
    status: verdict.status,
    headers: { ...verdict.headers },
    body: verdict.problem ? JSON.stringify(verdict.problem) : undefined,
  };
}

/**
 * What {@link answerFor} returns.
 *
 * @example
 * ```ts
 * const { status, headers, body }: GuardAnswer = answerFor(verdict);
 * return new Response(body, { status, headers });
 * ```
 */
export interface GuardAnswer {
  status: number;
  headers: Record<string, string>;
  /** The problem as JSON text; undefined for a valid verdict. */
  body: string | undefined;
}
