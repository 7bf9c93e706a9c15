import type { Context as KoaContext } from 'koa';
import type { Principal } from '../auth/credential.js';
import type { Config } from '../config/config.js';
import { ApiError } from '../errors/api-error.js';
import type { Services } from '../services.js';

export interface HandlerContext {
  koa: KoaContext;
  principal: Principal | undefined;
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
