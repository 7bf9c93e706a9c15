import { ERROR_CODES, type ErrorCode } from './error-codes.js';

export interface FieldError {
  field: string;
  message: string;
}

/**
 * The one error class of the API. Thrown anywhere; turned into an
 * application/problem+json response by the problem middleware.
 */
export class ApiError extends Error {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly errors: FieldError[] | undefined;
  /** For 429: seconds to wait, also sent as Retry-After. */
  readonly retryAfter: number | undefined;

  constructor(
    readonly code: ErrorCode,
    readonly detail: string,
    options: { errors?: FieldError[]; headers?: Record<string, string>; retryAfter?: number } = {},
  ) {
    super(detail);
    this.name = 'ApiError';
    this.status = ERROR_CODES[code].status;
    this.errors = options.errors;
    this.headers = options.headers ?? {};
    this.retryAfter = options.retryAfter;
  }

  /** A validation problem naming one field. */
  static field(field: string, message: string, code: ErrorCode = 'VALIDATION_FAILED'): ApiError {
    return new ApiError(code, `${field}: ${message}`, { errors: [{ field, message }] });
  }
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  code: ErrorCode;
  detail: string;
  instance?: string;
  errors?: FieldError[];
  retryAfter?: number;
  /** The id of the request (as in its X-Request-Id), to find it in the server's log. */
  request_id?: string;
}

/** Bounds of a problem body (the contract declares them): it never echoes megabytes of a request back. */
export const PROBLEM_BOUNDS = { detail: 2048, instance: 2048, errors: 50, field: 256, message: 256 };

const cut = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/**
 * The RFC 9457 body for an error; `type` points at the code's page in the docs. Long texts
 * end in "…" and at most 50 field errors are listed (PROBLEM_BOUNDS).
 */
export function toProblem(error: ApiError, instance?: string, requestId?: string): Problem {
  const problem: Problem = {
    type: `/docs/errors/${error.code}`,
    title: ERROR_CODES[error.code].title,
    status: error.status,
    code: error.code,
    detail: cut(error.detail, PROBLEM_BOUNDS.detail),
  };
  if (instance) problem.instance = cut(instance, PROBLEM_BOUNDS.instance);
  if (error.errors?.length) {
    problem.errors = error.errors.slice(0, PROBLEM_BOUNDS.errors).map((e) => ({
      field: cut(e.field, PROBLEM_BOUNDS.field),
      message: cut(e.message, PROBLEM_BOUNDS.message),
    }));
  }
  if (error.retryAfter !== undefined) problem.retryAfter = error.retryAfter;
  if (requestId) problem.request_id = requestId;
  return problem;
}
