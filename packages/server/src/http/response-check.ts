import { ApiError, toProblem } from '@latchkey/core';
import type { Middleware } from 'koa';
import type { OpenAPIBackend, Operation } from 'openapi-backend';

/**
 * Checks every response against the contract (status, body and declared headers) and
 * turns a mismatch into a 500 naming it. Switched on in tests, so that a response that
 * drifts from openapi.yaml fails the suite.
 */
export function responseContractCheck(api: OpenAPIBackend): Middleware {
  return async (ctx, next) => {
    await next();
    const operation = ctx.state.operation as Operation | undefined;
    if (!operation) return;
    const problems: string[] = [];
    const declared = Object.keys(operation.responses ?? {});
    if (!declared.includes(String(ctx.status))) {
      problems.push(`status ${ctx.status} is not declared (declared: ${declared.join(', ')})`);
    } else {
      const declaredResponse = (operation.responses as Record<string, { content?: Record<string, unknown> }>)[
        String(ctx.status)
      ];
      const empty = ctx.body === undefined || ctx.body === null;
      if (!declaredResponse?.content) {
        if (!empty) problems.push(`status ${ctx.status} declares no body, but one was sent`);
      } else {
        // The media type sent must be one the response declares (parameters aside); openapi-backend
        // validates application/json bodies, so a body of another type is checked to be text.
        const sent = (ctx.type || '').toLowerCase();
        const declaredTypes = Object.keys(declaredResponse.content);
        const base = (type: string) => (type.split(';')[0] ?? '').trim().toLowerCase();
        if (!declaredTypes.some((type) => base(type) === sent)) {
          problems.push(
            `media type ${sent || '(none)'} is not declared (declared: ${declaredTypes.join(', ')})`,
          );
        } else if (sent === 'application/json') {
          const result = api.validateResponse(empty ? undefined : ctx.body, operation, ctx.status);
          if (!result.valid) problems.push(`body: ${JSON.stringify(result.errors)}`);
        } else if (!sent.endsWith('json') && typeof ctx.body !== 'string') {
          problems.push(`a ${sent} body must be text`);
        }
      }
      const headers = Object.fromEntries(
        Object.entries(ctx.response.headers).map(([k, v]) => [
          k.toLowerCase(),
          Array.isArray(v) ? v.join(', ') : String(v),
        ]),
      );
      const headerResult = api.validateResponseHeaders(headers, operation, { statusCode: ctx.status });
      if (!headerResult.valid) problems.push(`headers: ${JSON.stringify(headerResult.errors)}`);
    }
    if (problems.length) {
      const error = new ApiError(
        'RESPONSE_CONTRACT_VIOLATION',
        `${operation.operationId} answered ${ctx.status} outside the contract: ${problems.join('; ')}`,
      );
      ctx.status = error.status;
      ctx.body = toProblem(error, ctx.path, ctx.state.requestId);
      ctx.type = 'application/problem+json';
    }
  };
}
