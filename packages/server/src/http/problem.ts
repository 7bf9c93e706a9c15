import { ApiError, type Problem, toProblem } from '@latchkey/core';
import type { Middleware } from 'koa';
import type { Logger } from 'pino';
import { requestLogger } from './request-context.js';

function fromHttpError(err: { status?: number; type?: string; message?: string }): ApiError | undefined {
  switch (err.status) {
    case 413:
      return new ApiError('PAYLOAD_TOO_LARGE', 'The request body is larger than the server accepts.');
    case 415:
      return new ApiError('UNSUPPORTED_MEDIA_TYPE', 'Send the body as application/json in UTF-8.');
    case 400:
      if (err.type === 'entity.parse.failed' || /json/i.test(err.message ?? '')) {
        return ApiError.field('body', 'is not valid JSON', 'MALFORMED_JSON');
      }
      return new ApiError('VALIDATION_FAILED', 'The request could not be read.');
    default:
      return undefined;
  }
}

/** Bounds of a problem body (the contract declares them): it never echoes megabytes of a request back. */
export const PROBLEM_BOUNDS = { detail: 2048, instance: 2048, errors: 50, field: 256, message: 256 };

const cut = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/** A problem within PROBLEM_BOUNDS: long texts end in "…", and at most 50 field errors are listed. */
export function boundProblem(problem: Problem): Problem {
  const bounded: Problem = { ...problem, detail: cut(problem.detail, PROBLEM_BOUNDS.detail) };
  if (problem.instance !== undefined) bounded.instance = cut(problem.instance, PROBLEM_BOUNDS.instance);
  if (problem.errors) {
    bounded.errors = problem.errors.slice(0, PROBLEM_BOUNDS.errors).map((e) => ({
      field: cut(e.field, PROBLEM_BOUNDS.field),
      message: cut(e.message, PROBLEM_BOUNDS.message),
    }));
  }
  return bounded;
}

/** Turns every error into an application/problem+json response; nothing else answers errors. */
export function problemMiddleware(logger: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      let error: ApiError;
      if (err instanceof ApiError) {
        error = err;
      } else {
        const known = fromHttpError(err as { status?: number });
        if (known) {
          error = known;
        } else {
          requestLogger(ctx, logger).error({ err, method: ctx.method, path: ctx.path }, 'unhandled error');
          error = new ApiError('INTERNAL_ERROR', 'The server failed to answer this request.');
        }
      }
      ctx.status = error.status;
      for (const [name, value] of Object.entries(error.headers)) ctx.set(name, value);
      ctx.body = boundProblem(toProblem(error, ctx.path, ctx.state.requestId));
      ctx.type = 'application/problem+json';
    }
  };
}
