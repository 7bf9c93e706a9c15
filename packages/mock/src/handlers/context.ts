import { ApiError } from '@latchkey/core';
import type { ContractDocument } from '../contract/types.js';
import type { Principal } from '../http/authenticate.js';
import type { AuditEntry } from '../store/audit.js';
import { MAX_PAGE_SIZE } from '../store/config.js';
import type { MockStore } from '../store/store.js';

/** What an operation handler gets: the store, the request and what the dispatcher found. */
export interface MockContext {
  store: MockStore;
  request: Request;
  url: URL;
  principal: Principal | undefined;
  clientIp: string;
  params: Record<string, unknown>;
  query: Record<string, unknown>;
  body: unknown;
  document: ContractDocument;
}

/** What an operation handler answers; the dispatcher adds the shared headers. */
export interface MockResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Set-Cookie values, one per cookie. */
  cookies?: string[];
  /** For bodies that are not JSON (HTML, YAML). */
  contentType?: string;
}

/** One operation's behaviour. */
export type MockHandler = (c: MockContext) => MockResult | Promise<MockResult>;

/** The caller of an operation the contract says needs authentication. */
export function caller(c: MockContext): Principal {
  if (!c.principal) throw new ApiError('AUTHENTICATION_REQUIRED', 'This operation needs a credential.');
  return c.principal;
}

/** The page a list operation asked for. */
export function pageOf(c: MockContext): { limit: number; offset: number } {
  return {
    limit: Math.min(Number(c.query.limit ?? 50), MAX_PAGE_SIZE),
    offset: Number(c.query.offset ?? 0),
  };
}

/** A `{count, next, previous, results}` body with links to the neighbouring pages. */
export function pageBody<T>(c: MockContext, all: T[]) {
  const { limit, offset } = pageOf(c);
  const link = (o: number) => {
    const url = new URL(c.url.href);
    url.searchParams.delete('api_key');
    url.searchParams.set('limit', String(limit));
    url.searchParams.set('offset', String(o));
    return url.toString();
  };
  return {
    count: all.length,
    next: offset + limit < all.length ? link(offset + limit) : null,
    previous: offset > 0 ? link(Math.max(0, offset - limit)) : null,
    results: all.slice(offset, offset + limit),
  };
}

/** Who is acting, for the audit log. */
export function actor(c: MockContext): NonNullable<AuditEntry['actor']> {
  return c.principal
    ? { id: c.principal.user.id, username: c.principal.user.username, clientIp: c.clientIp }
    : { clientIp: c.clientIp };
}

/** A boolean query filter, or undefined when absent. */
export const boolParam = (v: unknown): boolean | undefined => (v === undefined ? undefined : v === true);
