import cors from '@koa/cors';
import { type CorsPolicy, corsPolicy } from '@latchkey/core';
import type { Middleware } from 'koa';
import type { Logger } from 'pino';

/**
 * CORS for browser pages on the origins of LATCHKEY_CORS_ORIGINS, by @koa/cors configured with
 * the core's policy (the mock HTTP server answers from the same policy): a preflight from a
 * listed origin is answered 204 with the allowed methods and headers; every other answer to a
 * listed origin carries `Access-Control-Allow-Origin: <origin>`, credentials and the exposed
 * headers, errors included. An unlisted origin gets no CORS header at all, and its preflight
 * is answered 204 here rather than by the API (which knows no OPTIONS), so that the browser
 * reports the missing CORS headers and the server's log names the origin.
 */
export function corsMiddleware(
  settings: { corsOrigins: readonly string[]; apiKeyHeaders: readonly string[] },
  logger: Logger,
): Middleware {
  const policy: CorsPolicy = corsPolicy(settings.corsOrigins, settings.apiKeyHeaders);
  const listed = cors({
    origin: (ctx) => (policy.allows(ctx.get('Origin')) ? ctx.get('Origin') : ''),
    credentials: true,
    allowMethods: [...policy.allowMethods],
    allowHeaders: [...policy.allowHeaders],
    exposeHeaders: [...policy.exposeHeaders],
    maxAge: policy.maxAgeS,
  });
  return async (ctx, next) => {
    const origin = ctx.get('Origin');
    const preflight =
      ctx.method === 'OPTIONS' && origin !== '' && ctx.get('Access-Control-Request-Method') !== '';
    if (preflight && !policy.allows(origin)) {
      ctx.vary('Origin');
      ctx.status = 204;
      logger.info(
        { origin, path: ctx.path },
        'refused a CORS preflight from an origin not in LATCHKEY_CORS_ORIGINS',
      );
      return;
    }
    return listed(ctx, next);
  };
}
