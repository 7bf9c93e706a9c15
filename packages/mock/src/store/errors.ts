/**
 * Every problem code the mock answers with, its HTTP status and its title: the same codes
 * as the server's problem bodies (the codes are part of the API; see docs/errors/).
 */
export const ERROR_CODES = {
  VALIDATION_FAILED: { status: 400, title: 'Validation failed' },
  MALFORMED_JSON: { status: 400, title: 'Malformed JSON body' },
  MULTIPLE_CREDENTIALS: { status: 400, title: 'More than one credential' },
  CANNOT_WIDEN: { status: 400, title: 'Security fields can only narrow' },
  NOT_A_SESSION: { status: 400, title: 'Not a login session' },
  AUTHENTICATION_REQUIRED: { status: 401, title: 'Authentication required' },
  AUTHENTICATION_FAILED: { status: 401, title: 'Authentication failed' },
  SUPERUSER_REQUIRED: { status: 403, title: 'Superuser required' },
  KEY_READ_ONLY: { status: 403, title: 'Key is read-only' },
  CSRF_FAILED: { status: 403, title: 'CSRF token missing or wrong' },
  KEY_CREATION_NOT_ALLOWED: { status: 403, title: 'Key creation not allowed' },
  IP_NOT_ALLOWED: { status: 403, title: 'Client address not allowed' },
  KEY_NOT_FOUND: { status: 404, title: 'Key not found' },
  USER_NOT_FOUND: { status: 404, title: 'User not found' },
  LOCKOUT_NOT_FOUND: { status: 404, title: 'Address is not locked out' },
  NOT_FOUND: { status: 404, title: 'Not found' },
  METHOD_NOT_ALLOWED: { status: 405, title: 'Method not allowed' },
  KEY_ALREADY_EXISTS: { status: 409, title: 'Key already exists' },
  KEY_NOT_ROTATABLE: { status: 409, title: 'Key cannot be rotated' },
  USERNAME_TAKEN: { status: 409, title: 'Username already taken' },
  LAST_SUPERUSER: { status: 409, title: 'Last active superuser' },
  BOOTSTRAP_DONE: { status: 409, title: 'Bootstrap already done' },
  RATE_LIMITED: { status: 429, title: 'Too many requests' },
  LOCKED_OUT: { status: 429, title: 'Too many failed authentication attempts' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'Request body too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported media type' },
  INTERNAL_ERROR: { status: 500, title: 'Internal error' },
} as const satisfies Record<string, { status: number; title: string }>;

/** A problem code. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** One field at fault in a 400. */
export interface ProblemFieldError {
  field: string;
  message: string;
}

/** An RFC 9457 problem body, as the server sends it. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  code: ErrorCode;
  detail: string;
  instance?: string;
  errors?: ProblemFieldError[];
  retryAfter?: number;
}

/** The one error of the mock's store and handlers; the dispatcher turns it into problem+json. */
export class MockApiError extends Error {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly errors: ProblemFieldError[] | undefined;
  readonly retryAfter: number | undefined;

  constructor(
    readonly code: ErrorCode,
    readonly detail: string,
    options: { errors?: ProblemFieldError[]; headers?: Record<string, string>; retryAfter?: number } = {},
  ) {
    super(detail);
    this.name = 'MockApiError';
    this.status = ERROR_CODES[code].status;
    this.errors = options.errors;
    this.headers = options.headers ?? {};
    this.retryAfter = options.retryAfter;
  }

  /** A validation problem naming one field. */
  static field(field: string, message: string, code: ErrorCode = 'VALIDATION_FAILED'): MockApiError {
    return new MockApiError(code, `${field}: ${message}`, { errors: [{ field, message }] });
  }
}

/** The problem body of an error; `type` points at the code's page. */
export function toProblem(error: MockApiError, instance?: string): Problem {
  const problem: Problem = {
    type: `/docs/errors/${error.code}`,
    title: ERROR_CODES[error.code].title,
    status: error.status,
    code: error.code,
    detail: error.detail,
  };
  if (instance) problem.instance = instance;
  if (error.errors?.length) problem.errors = error.errors;
  if (error.retryAfter !== undefined) problem.retryAfter = error.retryAfter;
  return problem;
}
