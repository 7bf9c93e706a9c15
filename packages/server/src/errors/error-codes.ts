/** Every problem code the API can answer with, its HTTP status and its title. */
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
  NOT_FOUND: { status: 404, title: 'Not found' },
  METHOD_NOT_ALLOWED: { status: 405, title: 'Method not allowed' },
  KEY_ALREADY_EXISTS: { status: 409, title: 'Key already exists' },
  KEY_NOT_ROTATABLE: { status: 409, title: 'Key cannot be rotated' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'Request body too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported media type' },
  INTERNAL_ERROR: { status: 500, title: 'Internal error' },
  RESPONSE_CONTRACT_VIOLATION: { status: 500, title: 'Response does not match the contract' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;
