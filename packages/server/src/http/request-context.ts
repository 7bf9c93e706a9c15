import { REQUEST_ID_HEADER, requestIdOf } from '@latchkey/core';
import type { Context, Middleware } from 'koa';
import type { Logger } from 'pino';

/** What a W3C trace context header names: the trace and the caller's span. */
export interface TraceContext {
  traceId: string;
  spanId: string;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZEROS = /^0+$/;

/**
 * Reads a `traceparent` header (W3C Trace Context level 1); undefined when absent or not
 * valid: version ff, an all-zero trace or parent id, or a version 00 header with extra fields.
 */
export function parseTraceparent(header: string | undefined): TraceContext | undefined {
  if (!header || header.length > 512) return undefined;
  const match = TRACEPARENT.exec(header.trim());
  if (!match) return undefined;
  const [, version, traceId = '', spanId = '', , rest] = match;
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  if (ZEROS.test(traceId) || ZEROS.test(spanId)) return undefined;
  return { traceId, spanId };
}

/**
 * Gives every request an id (reused from X-Request-Id, or new), sends it back in
 * X-Request-Id, and keeps it with the trace context for the request's log lines.
 */
export function requestContext(): Middleware {
  return async (ctx, next) => {
    const id = requestIdOf(ctx.get(REQUEST_ID_HEADER) || undefined);
    ctx.state.requestId = id;
    ctx.set(REQUEST_ID_HEADER, id);
    const traceparent = ctx.get('traceparent');
    if (traceparent) ctx.state.trace = parseTraceparent(traceparent);
    await next();
  };
}

/**
 * The logger for lines about this request: the server's logger with the request id (and
 * the trace and span ids of a valid traceparent). Made on first use, so a request that logs
 * nothing costs nothing.
 */
export function requestLogger(ctx: Context, logger: Logger): Logger {
  if (!ctx.state.log) {
    const trace = ctx.state.trace as TraceContext | undefined;
    ctx.state.log = logger.child(
      trace
        ? { requestId: ctx.state.requestId, traceId: trace.traceId, spanId: trace.spanId }
        : { requestId: ctx.state.requestId },
    );
  }
  return ctx.state.log as Logger;
}
