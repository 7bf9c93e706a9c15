import type { CredentialKind } from './credentials.js';
import { UnsupportedCredentialsError } from './errors.js';
import { operationSecurity, securitySchemes } from './generated/security.gen.js';

/** A security scheme as the contract declares it (components.securitySchemes). */
export interface SchemeDefinition {
  readonly type: string;
  readonly in?: string;
  readonly name?: string;
  readonly scheme?: string;
}

/** What an operation accepts, from the contract. */
export interface OperationSecurity {
  readonly id: string;
  readonly method: string;
  readonly path: string;
  /** Scheme names, any one of which authenticates the operation, in the contract's order. */
  readonly schemes: readonly string[];
  /** True when the operation also runs without a credential. */
  readonly anonymous: boolean;
  /** The permission a key with `permissions` needs for this operation (`keys:write`, …); null when none. */
  readonly permission: string | null;
}

/**
 * How a scheme carries its credential:
 * - `apiKeyHeader`: the key alone in a header (`X-API-Key`);
 * - `token`: `Authorization: Token <key>` (an apiKey scheme in the Authorization header, NetBox style);
 * - `query`: the key in a query parameter;
 * - `bearer`, `basic`: the HTTP schemes;
 * - `session`: a cookie the browser sends on its own;
 * - `unsupported`: anything else (OAuth 2, OpenID Connect, mutual TLS), never chosen.
 */
export type SchemeKind = 'apiKeyHeader' | 'token' | 'query' | 'bearer' | 'basic' | 'session' | 'unsupported';

/**
 * Tells how a security scheme of the contract carries its credential.
 *
 * @example
 * ```ts
 * classifyScheme({ type: 'apiKey', in: 'header', name: 'Authorization' }); // 'token'
 * classifyScheme({ type: 'http', scheme: 'bearer' }); // 'bearer'
 * ```
 */
export function classifyScheme(definition: SchemeDefinition): SchemeKind {
  if (definition.type === 'http') {
    const scheme = definition.scheme?.toLowerCase();
    if (scheme === 'bearer') return 'bearer';
    if (scheme === 'basic') return 'basic';
    return 'unsupported';
  }
  if (definition.type === 'apiKey' && definition.name) {
    if (definition.in === 'header') {
      return definition.name.toLowerCase() === 'authorization' ? 'token' : 'apiKeyHeader';
    }
    if (definition.in === 'query') return 'query';
    if (definition.in === 'cookie') return 'session';
  }
  return 'unsupported';
}

/**
 * For each kind of credential, the ways it may be sent, most preferred first. A key can
 * travel in any key-carrying scheme; a JWT only as Bearer; a password only as Basic (or
 * exchanged by `login`); the browser session only as its cookie.
 */
export const SCHEME_PREFERENCES: Readonly<Record<CredentialKind, readonly SchemeKind[]>> = {
  apiKey: ['apiKeyHeader', 'bearer', 'token', 'query'],
  token: ['token', 'bearer', 'apiKeyHeader', 'query'],
  bearer: ['bearer'],
  basic: ['basic'],
  login: ['bearer'],
  session: ['session'],
  none: [],
};

const CREDENTIAL_FORMS: Readonly<Record<Exclude<CredentialKind, 'none'>, string>> = {
  apiKey: '{ apiKey }',
  token: '{ token }',
  bearer: '{ bearer }',
  basic: '{ basic }',
  login: '{ login }',
  session: '{ session: true }',
};

/** The scheme chosen for one request. */
export interface SchemeChoice {
  /** The scheme's name in the contract, for example `ApiKeyHeader`. */
  readonly name: string;
  readonly kind: SchemeKind;
  readonly definition: SchemeDefinition;
}

const CONTRACT_SCHEMES: Readonly<Record<string, SchemeDefinition>> = securitySchemes;

/**
 * Chooses how to send `kind` of credential to an operation: the first of that credential's
 * preferred forms that the operation accepts. Returns undefined when nothing is to be sent
 * (the operation needs no credential, or the client holds none it accepts and it also
 * runs anonymously). Throws UnsupportedCredentialsError when the operation needs a
 * credential the client does not hold.
 *
 * @example
 * ```ts
 * const logout = findOperation('POST', '/api/v1/auth/logout')!;
 * selectScheme(logout, 'login')?.name; // 'BearerAuth'
 * selectScheme(logout, 'apiKey'); // throws UnsupportedCredentialsError
 * ```
 */
export function selectScheme(
  operation: OperationSecurity,
  kind: CredentialKind,
  schemes: Readonly<Record<string, SchemeDefinition>> = CONTRACT_SCHEMES,
): SchemeChoice | undefined {
  const accepted = operation.schemes.flatMap((name) => {
    const definition = schemes[name];
    return definition ? [{ name, kind: classifyScheme(definition), definition }] : [];
  });
  for (const wanted of SCHEME_PREFERENCES[kind]) {
    const found = accepted.find((choice) => choice.kind === wanted);
    if (found) return found;
  }
  if (operation.anonymous) return undefined;

  const usable = (Object.keys(CREDENTIAL_FORMS) as Exclude<CredentialKind, 'none'>[]).filter((k) =>
    SCHEME_PREFERENCES[k].some((wanted) => accepted.some((choice) => choice.kind === wanted)),
  );
  const holding = kind === 'none' ? 'no credentials' : `${CREDENTIAL_FORMS[kind]} credentials`;
  const advice =
    usable.length > 0
      ? `Call it with ${usable.map((k) => CREDENTIAL_FORMS[k]).join(', ')} credentials (setCredentials).`
      : 'This client cannot send any of them.';
  throw new UnsupportedCredentialsError(
    `${operation.id} (${operation.method} ${operation.path}) accepts ${operation.schemes.join(', ') || 'no scheme'}, and the client holds ${holding}; nothing was sent. ${advice}`,
    operation.id,
    operation.schemes,
  );
}

const BY_ROUTE = new Map<string, OperationSecurity>(
  Object.entries(operationSecurity).map(([id, op]) => [`${op.method} ${op.path}`, { id, ...op }]),
);

/**
 * The contract's security for the operation at `method` and path template `path` (as the
 * generated operations pass them, for example `/api/v1/keys/{key_id}`); undefined when
 * the contract has no such operation.
 *
 * @example
 * ```ts
 * findOperation('GET', '/api/v1/auth/whoami')?.schemes; // ['ApiKeyHeader', 'BearerAuth', …]
 * ```
 */
export function findOperation(method: string, path: string): OperationSecurity | undefined {
  return BY_ROUTE.get(`${method.toUpperCase()} ${path}`);
}

/**
 * Every operation of the contract with its security, in the contract's order.
 *
 * @example
 * ```ts
 * const open = listOperations().filter((op) => op.anonymous).map((op) => op.id);
 * ```
 */
export function listOperations(): OperationSecurity[] {
  return [...BY_ROUTE.values()];
}

/**
 * The permission a key with `permissions` needs for an operation, from the contract; null
 * for an operation that needs none.
 *
 * @example
 * ```ts
 * permissionOf('createKey'); // 'keys:write'
 * ```
 */
export function permissionOf(operationId: keyof typeof operationSecurity): string | null {
  return operationSecurity[operationId].permission;
}
