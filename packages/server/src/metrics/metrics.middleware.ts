import type { Middleware } from 'koa';
import { type Metrics, NO_OPERATION } from './metrics.js';

/** Counts and times every request by operationId and status; mounted only when metrics are on. */
export function requestMetrics(metrics: Metrics): Middleware {
  return async (ctx, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      const operation = (ctx.state.operationId as string | undefined) ?? NO_OPERATION;
      metrics.request(operation, ctx.status, (performance.now() - started) / 1000);
    }
  };
}
