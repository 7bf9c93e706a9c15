import type { Middleware } from 'koa';
import type { Logger } from 'pino';
import { requestLogger } from './request-context.js';

/**
 * One log line per request, with its request id: never the query string (it may hold
 * ?api_key=) nor a header.
 */
export function requestLog(logger: Logger): Middleware {
  return async (ctx, next) => {
    // With info lines off (LATCHKEY_LOG_LEVEL=warn or above), nothing is measured or built.
    if (!logger.isLevelEnabled('info')) return next();
    const started = performance.now();
    try {
      await next();
    } finally {
      requestLogger(ctx, logger).info(
        {
          method: ctx.method,
          path: ctx.path,
          status: ctx.status,
          ms: Math.round((performance.now() - started) * 10) / 10,
          ip: ctx.state.clientIp ?? ctx.request.socket.remoteAddress,
          user: ctx.state.userId,
        },
        'request',
      );
    }
  };
}
