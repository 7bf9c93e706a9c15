import { ApiError } from '../api-error.js';
import type { Actor } from '../audit/audit.record.js';
import type { Principal } from '../auth/credential.js';
import { type CookieSameSite, LIMITS, type RulesConfig } from '../config.js';
import type { ContractDocument } from '../contract/types.js';
import type { CoreServices } from '../core.js';

/** A cookie to set; each adapter writes it in its own way. */
export interface CookieSpec {
  name: string;
  value: string;
  maxAgeS: number;
  httpOnly: boolean;
  secure: boolean;
  sameSite: CookieSameSite;
}

/** What an operation's handler gets: what the pipeline found, and the services. */
export interface HandlerContext {
  principal: Principal | undefined;
  /** Who is acting, for the services' audit records. */
  actor: Actor;
  /** The client's address: the socket's, or from X-Forwarded-For when it came through a trusted proxy. */
  clientIp: string;
  /** The request's path and query string (never its host), for links to other pages. */
  path: string;
  search: URLSearchParams;
  /** True when the request came over HTTPS. */
  secure: boolean;
  /** A request header by lower-case name (content negotiation, a host's own credentials). */
  header(name: string): string | undefined;
  params: Record<string, unknown>;
  query: Record<string, unknown>;
  body: unknown;
  services: CoreServices;
  config: RulesConfig;
  document: ContractDocument;
}

export interface HandlerResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** For bodies that are not JSON (HTML, YAML, text). */
  contentType?: string;
  cookies?: CookieSpec[];
}

export type Handler = (c: HandlerContext) => Promise<HandlerResult>;

/** The caller of an operation that the contract says needs authentication. */
export function caller(c: HandlerContext): Principal {
  if (!c.principal) throw new ApiError('AUTHENTICATION_REQUIRED', 'This operation needs a credential.');
  return c.principal;
}

/** The page a list operation was asked for: `limit` (bounded) and `offset`. */
export function pageOf(c: HandlerContext): { limit: number; offset: number } {
  return {
    limit: Math.min(Number(c.query.limit ?? LIMITS.defaultPageSize), LIMITS.maxPageSize),
    offset: Number(c.query.offset ?? 0),
  };
}

/**
 * The link to another page of this list: the request's own path and query with a new limit
 * and offset. Relative, so that a forged Host header never reaches a link.
 */
export function pageUrl(c: HandlerContext, limit: number, offset: number): string {
  const search = new URLSearchParams(c.search);
  search.delete('api_key');
  search.set('limit', String(limit));
  search.set('offset', String(offset));
  return `${c.path}?${search.toString()}`;
}

/** A `{count, next, previous, results}` page body with links to its neighbours. */
export function pageBody<T>(
  c: HandlerContext,
  page: { limit: number; offset: number },
  count: number,
  results: T[],
): { count: number; next: string | null; previous: string | null; results: T[] } {
  const { limit, offset } = page;
  return {
    count,
    next: offset + limit < count ? pageUrl(c, limit, offset + limit) : null,
    previous: offset > 0 ? pageUrl(c, limit, Math.max(0, offset - limit)) : null,
    results,
  };
}

/** A boolean query filter, or undefined when absent. */
export const boolParam = (v: unknown): boolean | undefined => (v === undefined ? undefined : v === true);

/** A string query filter, or undefined when absent. */
export const stringParam = (v: unknown): string | undefined => (v === undefined ? undefined : String(v));
