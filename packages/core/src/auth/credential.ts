import type { KeyRecord } from '../keys/key.record.js';
import type { SessionRecord } from '../sessions/session.record.js';
import type { UserRecord } from '../users/user.record.js';

/** How a request was authenticated, as `X-Auth-Method` says. */
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

/**
 * The parts of a request the strategies read. A header sent more than once comes as one
 * value joined with ", " (as HTTP allows); no credential contains a comma, so a comma in a
 * credential header means more than one credential.
 */
export interface CredentialSource {
  /** By lower-case name. */
  header(name: string): string | undefined;
  queryParam(name: string): string | string[] | undefined;
  cookie(name: string): string | undefined;
}

export interface StrategyOptions {
  apiKeyHeaders: readonly string[];
}

/**
 * One authentication method: finds its credentials in a request. `ambient` credentials (the
 * session cookie) are sent by browsers on their own, so they count only when no explicit
 * credential is present.
 */
export interface AuthStrategy {
  readonly ambient: boolean;
  extract(source: CredentialSource, options: StrategyOptions): Presented[];
}

/** Who made a request, and with what. */
export interface Principal {
  user: UserRecord;
  method: AuthMethod;
  tokenId: string | null;
  expiresAt: string | null;
  writeEnabled: boolean;
  key?: KeyRecord;
  session?: SessionRecord;
}

export const SESSION_COOKIE = 'latchkey_session';
export const CSRF_COOKIE = 'latchkey_csrf';
export const CSRF_HEADER = 'x-csrf-token';
export const QUERY_KEY_PARAM = 'api_key';

/** Methods that only read: a read-only key may use them, and so may Anonymous behind a proxy. */
const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

/** True for GET, HEAD and OPTIONS, in any case. */
export function isSafeMethod(method: string): boolean {
  return SAFE_METHODS.has(method.toUpperCase());
}

/**
 * The values of `Authorization: <scheme> <value>` headers of one scheme. Each comma-separated
 * part is one header as sent; parts of other schemes are left to their strategies.
 */
export function authorizationValues(source: CredentialSource, scheme: string): string[] {
  const header = source.header('authorization');
  if (!header) return [];
  const out: string[] = [];
  for (const part of header.includes(',') ? header.split(',') : [header]) {
    const trimmed = part.trim();
    const space = trimmed.indexOf(' ');
    if (space > 0 && trimmed.slice(0, space).toLowerCase() === scheme.toLowerCase()) {
      out.push(trimmed.slice(space + 1).trim());
    }
  }
  return out;
}

/** How many credentials the Authorization header holds (more than one when it was repeated). */
export function authorizationCount(source: CredentialSource): number {
  const header = source.header('authorization');
  if (header === undefined) return 0;
  return header.includes(',') ? header.split(',').length : 1;
}

/** A base64 text decoded as UTF-8, or undefined when it is not base64. Browser-safe. */
export function decodeBase64Utf8(value: string): string | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return undefined;
  try {
    const binary = atob(value);
    return new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
  } catch {
    return undefined;
  }
}

/**
 * A JWT is three base64url parts whose first decodes to a JSON header naming its `alg`. The
 * header check matters: a key supplied by a caller may hold dots too (`restored.key.0123…`),
 * and must still be looked up as a key.
 */
export function looksLikeJwt(value: string): boolean {
  const parts = /^([A-Za-z0-9_-]+)\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.exec(value);
  if (!parts?.[1]) return false;
  const padded = parts[1].replace(/-/g, '+').replace(/_/g, '/');
  const text = decodeBase64Utf8(padded + '='.repeat((4 - (padded.length % 4)) % 4));
  if (text === undefined) return false;
  try {
    const header: unknown = JSON.parse(text);
    return (
      typeof header === 'object' && header !== null && typeof (header as { alg?: unknown }).alg === 'string'
    );
  } catch {
    return false;
  }
}
