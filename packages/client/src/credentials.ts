/**
 * A username and password.
 *
 * @example
 * ```ts
 * const account: UsernamePassword = { username: 'admin', password: process.env.LATCHKEY_PASSWORD! };
 * ```
 */
export interface UsernamePassword {
  username: string;
  password: string;
}

/**
 * What the client authenticates with; give exactly one. The client sends it in the form
 * each operation accepts (see `selectScheme`), never two at once.
 *
 * - `{ apiKey }`: an API key; sent as `X-API-Key`, else `Authorization: Bearer`, else
 *   `Authorization: Token`, else `?api_key=`, whichever the operation accepts first.
 * - `{ token }`: an API key NetBox style, as `Authorization: Token`; falls back like `apiKey`.
 * - `{ bearer }`: a login JWT or a key, as `Authorization: Bearer` only.
 * - `{ basic }`: a username and password on every request.
 * - `{ login }`: a username and password exchanged for a login JWT on first use; the JWT is
 *   kept, renewed before it expires, and renewed once more when a 401 says it was revoked.
 * - `{ session: true }`: the browser's login cookie (`credentials: 'include'`), plus the CSRF
 *   token on unsafe methods (from the last login through this client, `csrfToken`, or the
 *   readable `latchkey_csrf` cookie).
 *
 * @example
 * ```ts
 * const byKey: Credentials = { apiKey: process.env.LATCHKEY_KEY! };
 * const byLogin: Credentials = { login: { username: 'deploy', password: secret } };
 * ```
 */
export type Credentials =
  | { apiKey: string }
  | { token: string }
  | { bearer: string }
  | { basic: UsernamePassword }
  | { login: UsernamePassword }
  | { session: true; csrfToken?: string };

/**
 * Which kind of credential a client holds; `none` for an anonymous client.
 *
 * @example
 * ```ts
 * const kind: CredentialKind = credentialKind({ bearer: jwt }); // 'bearer'
 * ```
 */
export type CredentialKind = 'apiKey' | 'token' | 'bearer' | 'basic' | 'login' | 'session' | 'none';

const KINDS = ['apiKey', 'token', 'bearer', 'basic', 'login', 'session'] as const;

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

function isUsernamePassword(value: unknown): value is UsernamePassword {
  if (typeof value !== 'object' || value === null) return false;
  const { username, password } = value as Record<string, unknown>;
  return isNonEmptyString(username) && typeof password === 'string';
}

/**
 * Names the kind of `credentials`, checking their shape; throws a TypeError that says
 * what is wrong when they are not exactly one of the accepted forms.
 *
 * @example
 * ```ts
 * credentialKind({ token: 'lk_…' }); // 'token'
 * credentialKind(undefined); // 'none'
 * ```
 */
export function credentialKind(credentials: Credentials | undefined): CredentialKind {
  if (credentials === undefined) return 'none';
  if (typeof credentials !== 'object' || credentials === null) {
    throw new TypeError(
      'credentials must be an object such as { apiKey } or { login: { username, password } }',
    );
  }
  const record = credentials as Record<string, unknown>;
  const given = KINDS.filter((kind) => record[kind] !== undefined);
  if (given.length !== 1) {
    throw new TypeError(
      given.length === 0
        ? `credentials must have one of ${KINDS.join(', ')}; got {${Object.keys(record).join(', ')}}`
        : `credentials must have exactly one of ${KINDS.join(', ')}; got ${given.join(' and ')}`,
    );
  }
  const kind = given[0] as (typeof KINDS)[number];
  const value = record[kind];
  switch (kind) {
    case 'apiKey':
    case 'token':
    case 'bearer':
      if (!isNonEmptyString(value)) throw new TypeError(`credentials.${kind} must be a non-empty string`);
      break;
    case 'basic':
    case 'login':
      if (!isUsernamePassword(value)) {
        throw new TypeError(`credentials.${kind} must be { username, password } with a non-empty username`);
      }
      break;
    case 'session':
      if (value !== true) throw new TypeError('credentials.session must be true');
      if (record.csrfToken !== undefined && !isNonEmptyString(record.csrfToken)) {
        throw new TypeError('credentials.csrfToken must be a non-empty string when given');
      }
      break;
  }
  return kind;
}
