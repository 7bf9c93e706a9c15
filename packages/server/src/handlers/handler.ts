import { ApiError } from '@latchkey/core';
import type { Context as KoaContext } from 'koa';
import type { AuditActor } from '../audit/audit.service.js';
import type { Principal } from '../auth/credential.js';
import type { Config } from '../config/config.js';
import type { Services } from '../services.js';
import { MAX_PAGE_SIZE } from './meta.handlers.js';

export interface HandlerContext {
  koa: KoaContext;
  principal: Principal | undefined;
  /** The client's address: the socket's, or from X-Forwarded-For when it came through a trusted proxy. */
  clientIp: string;
  params: Record<string, string>;
  query: Record<string, unknown>;
  body: unknown;
  services: Services;
  config: Config;
}

export interface HandlerResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  contentType?: string;
}

export type Handler = (c: HandlerContext) => Promise<HandlerResult>;

/** The caller of an operation that the contract says needs authentication. */
export function caller(c: HandlerContext): Principal {
  if (!c.principal) throw new ApiError('AUTHENTICATION_REQUIRED', 'This operation needs a credential.');
  return c.principal;
}

const DEFAULT_PAGE_SIZE = 50;

/** The page a list operation was asked for: `limit` (bounded) and `offset`. */
export function pageOf(c: HandlerContext): { limit: number; offset: number } {
  return {
    limit: Math.min(Number(c.query.limit ?? DEFAULT_PAGE_SIZE), MAX_PAGE_SIZE),
    offset: Number(c.query.offset ?? 0),
  };
}

/** The URL of another page of this list: the request's own URL with new limit and offset. */
export function pageUrl(c: HandlerContext, limit: number, offset: number): string {
  // Koa 3's ctx.origin is the request's Origin header (null without one), not this server's
  // origin; href is built from the protocol and Host, like the request line.
  const url = new URL(c.koa.href);
  url.searchParams.delete('api_key');
  url.searchParams.set('limit', String(limit));
  url.searchParams.set('offset', String(offset));
  return url.toString();
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

/** Who is acting, for the audit log: the authenticated user (if any) and the client address. */
export function auditActor(c: HandlerContext): AuditActor {
  return c.principal
    ? { id: c.principal.user.id, username: c.principal.user.username, clientIp: c.clientIp }
    : { clientIp: c.clientIp };
}
