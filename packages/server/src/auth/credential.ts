import type { ApiKeyRow } from '../keys/key.table.js';
import type { SessionRow } from '../sessions/session.table.js';
import type { UserRow } from '../users/user.table.js';

export const AUTH_METHODS = [
  'HeaderTokenAuth',
  'BearerTokenAuth',
  'JwtAuth',
  'TokenAuth',
  'QueryParamTokenAuth',
  'BasicAuth',
  'SessionAuth',
] as const;
export type AuthMethod = (typeof AUTH_METHODS)[number];

export type KeyMethod = 'HeaderTokenAuth' | 'BearerTokenAuth' | 'TokenAuth' | 'QueryParamTokenAuth';

/** What a request presented, before anything is looked up. */
export type Presented =
  | { type: 'key'; method: KeyMethod; value: string; source: string }
  | { type: 'jwt'; value: string; source: string }
  | { type: 'basic'; username: string; password: string; source: string }
  | { type: 'session'; value: string; source: string }
  /** A credential in a form this server does not accept (a disabled method, a broken header). */
  | { type: 'unusable'; source: string };

/** The parts of a request the strategies read. */
export interface CredentialSource {
  header(name: string): string | undefined;
  queryParam(name: string): string | string[] | undefined;
  cookie(name: string): string | undefined;
}

export interface StrategyOptions {
  apiKeyHeaders: readonly string[];
}

/**
 * One authentication method: finds its credential in a request, or nothing. A method that
 * can be sent in several places (several API key header names) returns each one it finds,
 * so that two of them count as two credentials. `ambient` credentials (the session cookie)
 * are sent by browsers on their own, so they count only when no explicit credential is present.
 */
export interface AuthStrategy {
  readonly name: string;
  readonly ambient: boolean;
  extract(source: CredentialSource, options: StrategyOptions): Presented | Presented[] | undefined;
}

/** Who made a request, and with what. */
export interface Principal {
  user: UserRow;
  method: AuthMethod;
  tokenId: string | null;
  expiresAt: string | null;
  writeEnabled: boolean;
  key?: ApiKeyRow;
  session?: SessionRow;
}

export const SESSION_COOKIE = 'latchkey_session';
export const CSRF_COOKIE = 'latchkey_csrf';
export const CSRF_HEADER = 'x-csrf-token';

/** Reads `Authorization: <scheme> <value>`; undefined when the header uses another scheme. */
export function authorizationValue(source: CredentialSource, scheme: string): string | undefined {
  const header = source.header('authorization');
  if (!header) return undefined;
  const space = header.indexOf(' ');
  if (space < 0 || header.slice(0, space).toLowerCase() !== scheme.toLowerCase()) return undefined;
  return header.slice(space + 1).trim();
}
