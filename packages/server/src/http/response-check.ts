import { ApiError, type Core, type OperationSpec, toProblem } from '@latchkey/core';
import type { Middleware } from 'koa';

/**
 * Checks every response against the contract (status, media type, body and declared
 * headers) with the core's validator, and turns a mismatch into a 500 naming it. Switched on
 * in tests, so that a response that drifts from openapi.yaml fails the suite.
 */
export function responseContractCheck(core: Core): Middleware {
  const byId = new Map<string, OperationSpec>(core.router.operations.map((op) => [op.operationId, op]));
  return async (ctx, next) => {
    await next();
    const spec = byId.get(ctx.state.operationId as string);
    if (!spec) return;
    const headers = new Headers();
    for (const [name, value] of Object.entries(ctx.response.headers)) {
      if (value === undefined) continue;
      headers.set(name, Array.isArray(value) ? value.join(', ') : String(value));
    }
    let body: unknown = ctx.body ?? undefined;
    if (typeof body === 'string' && /json/i.test(ctx.type)) body = JSON.parse(body);
    const problems = core.validator.checkResponse(spec, {
      status: ctx.status,
      headers,
      body,
      contentType: ctx.response.get('content-type') || null,
    });
    if (problems.length) {
      const error = new ApiError(
        'RESPONSE_CONTRACT_VIOLATION',
        `${spec.operationId} answered ${ctx.status} outside the contract: ${problems.join('; ')}`,
      );
      ctx.status = error.status;
      ctx.body = toProblem(error, ctx.path, ctx.state.requestId);
      ctx.type = 'application/problem+json';
    }
  };
}
