import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CorsPolicy } from '@latchkey/core';

/** Adds `value` to the response's Vary header unless it is there already. */
function vary(res: ServerResponse, value: string): void {
  const current = String(res.getHeader('Vary') ?? '');
  const names = current.split(',').map((n) => n.trim().toLowerCase());
  if (!names.includes(value.toLowerCase())) res.setHeader('Vary', current ? `${current}, ${value}` : value);
}

/**
 * The server's CORS answer (@koa/cors configured with the core's policy) for the mock HTTP
 * server: `Vary: Origin` always; for a listed origin, a preflight answered 204 with the
 * allowed methods, headers and max-age, and every other answer with the origin, credentials
 * and exposed headers; for an unlisted origin no CORS header, and its preflight answered 204.
 * Returns true when it answered the request itself (a preflight).
 *
 * @example
 * ```ts
 * if (applyCors(req, res, corsPolicy(['http://localhost:5173'], ['X-API-Key']))) return;
 * ```
 */
export function applyCors(req: IncomingMessage, res: ServerResponse, policy: CorsPolicy): boolean {
  vary(res, 'Origin');
  const origin = req.headers.origin;
  const preflight =
    req.method === 'OPTIONS' &&
    origin !== undefined &&
    req.headers['access-control-request-method'] !== undefined;
  if (!policy.allows(origin)) {
    if (!preflight) return false;
    res.statusCode = 204;
    res.end();
    return true;
  }
  if (req.method !== 'OPTIONS') {
    res.setHeader('Access-Control-Allow-Origin', origin as string);
    res.setHeader('Access-Control-Allow-Credentials', 'true');
    res.setHeader('Access-Control-Expose-Headers', policy.exposeHeaders.join(','));
    return false;
  }
  // An OPTIONS request that is no preflight is the API's to answer, without CORS headers.
  if (!preflight) return false;
  res.setHeader('Access-Control-Allow-Origin', origin as string);
  res.setHeader('Access-Control-Allow-Credentials', 'true');
  res.setHeader('Access-Control-Max-Age', String(policy.maxAgeS));
  res.setHeader('Access-Control-Allow-Methods', policy.allowMethods.join(','));
  res.setHeader('Access-Control-Allow-Headers', policy.allowHeaders.join(','));
  res.statusCode = 204;
  res.end();
  return true;
}
