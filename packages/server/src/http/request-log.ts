import type { Middleware } from 'koa';
import type { Logger } from 'pino';
import type { TraceContext } from './request-context.js';

/**
 * One log line per request, with its request id (and trace context): never the query string
 * (it may hold ?api_key=) nor a header. The line is one object written by the server's
 * logger; a child logger is made only when something else in the request logged first
 * (request-context.ts), and then reused.
 */
export function requestLog(logger: Logger): Middleware {
  // The line's fields are the ones below, none of them a secret (a path without its query, no
  // header), so it skips the logger's redaction, whose wildcard paths cost as much as the
  // rest of the line. Lines from a request's child logger (errors) are still redacted.
  const lines = logger.child({}, { redact: [] });
  return async (ctx, next) => {
    // With info lines off (LATCHKEY_LOG_LEVEL=warn or above), nothing is measured or built.
    if (!logger.isLevelEnabled('info')) return next();
    const started = performance.now();
    try {
      await next();
    } finally {
      const ms = Math.round((performance.now() - started) * 10) / 10;
      const child = ctx.state.log as Logger | undefined;
      const trace = ctx.state.trace as TraceContext | undefined;
      // A child logger (made when something else in the request logged first) carries the
      // request id and trace; otherwise they go into the line's one object.
      const line: Record<string, unknown> = child ? {} : { requestId: ctx.state.requestId };
      if (!child && trace) {
        line.traceId = trace.traceId;
        line.spanId = trace.spanId;
      }
      line.method = ctx.method;
      line.path = ctx.path;
      line.status = ctx.status;
      line.ms = ms;
      line.ip = ctx.state.clientIp ?? ctx.request.socket.remoteAddress;
      line.user = ctx.state.userId;
      (child ?? lines).info(line, 'request');
    }
  };
}
