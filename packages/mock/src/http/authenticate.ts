import { ApiError } from '@latchkey/core';
import { ipAllowed } from '../store/ip-rules.js';
import { checkKey, type KeyRecord } from '../store/keys.js';
import { looksLikeJwt, type SessionRecord } from '../store/sessions.js';
import type { MockStore } from '../store/store.js';
import type { UserRecord } from '../store/users.js';

/** How a request was authenticated, as `X-Auth-Method` says. */
export type AuthMethod =
  | 'HeaderTokenAuth'
  | 'BearerTokenAuth'
  | 'JwtAuth'
  | 'TokenAuth'
  | 'QueryParamTokenAuth'
  | 'BasicAuth'
  | 'SessionAuth';

type KeyMethod = 'HeaderTokenAuth' | 'BearerTokenAuth' | 'TokenAuth' | 'QueryParamTokenAuth';

/** What a request presented, before anything is looked up. */
export type Presented =
  | { type: 'key'; method: KeyMethod; value: string; source: string }
  | { type: 'jwt'; value: string; source: string }
  | { type: 'basic'; username: string; password: string; source: string }
  | { type: 'session'; value: string; source: string }
  | { type: 'unusable'; source: string };

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
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const BAD_CREDENTIAL = 'The credential is missing, invalid, expired or revoked.';
const CHALLENGE = 'Bearer realm="latchkey", Token realm="latchkey", Basic realm="latchkey", charset="UTF-8"';

/** The WWW-Authenticate value of a 401, RFC 6750 form. */
export function challenge(error?: 'invalid_token'): string {
  if (!error) return CHALLENGE;
  return CHALLENGE.replace(
    /^Bearer realm="latchkey"/,
    `Bearer realm="latchkey", error="${error}", error_description="${BAD_CREDENTIAL}"`,
  );
}

/** A cookie's value from a Cookie header. */
export function readCookie(header: string | null, name: string): string | undefined {
  if (!header) return undefined;
  for (const pair of header.split(';')) {
    const at = pair.indexOf('=');
    if (at > 0 && pair.slice(0, at).trim() === name) return decodeURIComponent(pair.slice(at + 1).trim());
  }
  return undefined;
}

function authorizationValue(header: string | null, scheme: string): string | undefined {
  if (!header) return undefined;
  const space = header.indexOf(' ');
  if (space < 0 || header.slice(0, space).toLowerCase() !== scheme.toLowerCase()) return undefined;
  return header.slice(space + 1).trim();
}

function decodeBasic(value: string): Presented {
  const source = 'Authorization: Basic';
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return { type: 'unusable', source };
  let decoded: string;
  try {
    const binary = atob(value);
    decoded = new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
  } catch {
    return { type: 'unusable', source };
  }
  const colon = decoded.indexOf(':');
  if (colon < 1) return { type: 'unusable', source };
  return { type: 'basic', username: decoded.slice(0, colon), password: decoded.slice(colon + 1), source };
}

/** The one credential of a request; two explicit ones are 400 MULTIPLE_CREDENTIALS. */
export function presentedCredential(
  request: Request,
  apiKeyHeaders: readonly string[],
): Presented | undefined {
  const explicit: Presented[] = [];
  for (const name of apiKeyHeaders) {
    const value = request.headers.get(name);
    if (value !== null)
      explicit.push({ type: 'key', method: 'HeaderTokenAuth', value: value.trim(), source: name });
  }
  const authorization = request.headers.get('authorization');
  if (authorization !== null) {
    const bearer = authorizationValue(authorization, 'Bearer');
    const token = authorizationValue(authorization, 'Token');
    const basic = authorizationValue(authorization, 'Basic');
    if (bearer !== undefined) {
      explicit.push(
        looksLikeJwt(bearer)
          ? { type: 'jwt', value: bearer, source: 'Authorization: Bearer' }
          : { type: 'key', method: 'BearerTokenAuth', value: bearer, source: 'Authorization: Bearer' },
      );
    } else if (token !== undefined) {
      explicit.push({ type: 'key', method: 'TokenAuth', value: token, source: 'Authorization: Token' });
    } else if (basic !== undefined) {
      explicit.push(decodeBasic(basic));
    } else {
      explicit.push({ type: 'unusable', source: 'Authorization' });
    }
  }
  const query = new URL(request.url).searchParams.getAll('api_key');
  if (query.length > 1) explicit.push({ type: 'unusable', source: '?api_key (given more than once)' });
  else if (query[0] !== undefined)
    explicit.push({ type: 'key', method: 'QueryParamTokenAuth', value: query[0], source: '?api_key' });
  if (explicit.length > 1) {
    throw new ApiError(
      'MULTIPLE_CREDENTIALS',
      `Send one credential per request; this one has ${explicit.map((p) => p.source).join(', ')}.`,
    );
  }
  if (explicit[0]) return explicit[0];
  const cookie = readCookie(request.headers.get('cookie'), SESSION_COOKIE);
  return cookie ? { type: 'session', value: cookie, source: `cookie ${SESSION_COOKIE}` } : undefined;
}

function identify(store: MockStore, presented: Presented): Principal | undefined {
  const now = store.clock();
  switch (presented.type) {
    case 'key': {
      const key = store.keys.find(presented.value);
      const user = key ? store.users.byId.get(key.user_id) : undefined;
      if (!key || !user || checkKey(key, user, now) !== 'VALID') return undefined;
      return {
        user,
        method: presented.method,
        tokenId: key.id,
        expiresAt: key.expires_at,
        writeEnabled: key.write_enabled,
        key,
      };
    }
    case 'jwt':
    case 'session': {
      const session =
        presented.type === 'jwt'
          ? store.sessions.findByJwt(presented.value)
          : store.sessions.findByCookie(presented.value);
      const user = session ? store.users.byId.get(session.user_id) : undefined;
      if (!session || !user?.is_active) return undefined;
      return {
        user,
        method: presented.type === 'jwt' ? 'JwtAuth' : 'SessionAuth',
        tokenId: session.id,
        expiresAt: session.expires_at,
        writeEnabled: true,
        session,
      };
    }
    case 'basic': {
      const user = store.users.authenticate(presented.username, presented.password);
      return user
        ? { user, method: 'BasicAuth', tokenId: null, expiresAt: null, writeEnabled: true }
        : undefined;
    }
    case 'unusable':
      return undefined;
  }
}

/**
 * Identifies the caller of an operation that needs a credential, and applies the checks
 * every method shares: 400 for two credentials, 401 for none or a bad one, 403 when valid
 * but not allowed (superuser_only, allowed_ips, read-only key, CSRF).
 */
export function authenticate(store: MockStore, request: Request, clientIp: string): Principal {
  const presented = presentedCredential(request, store.config.apiKeyHeaders);
  if (!presented) {
    throw new ApiError('AUTHENTICATION_REQUIRED', 'This operation needs a credential.', {
      headers: { 'WWW-Authenticate': challenge() },
    });
  }
  const principal = identify(store, presented);
  if (!principal) {
    throw new ApiError('AUTHENTICATION_FAILED', BAD_CREDENTIAL, {
      headers: { 'WWW-Authenticate': challenge('invalid_token') },
    });
  }
  if (store.config.superuserOnly && !principal.user.is_superuser) {
    throw new ApiError(
      'SUPERUSER_REQUIRED',
      'Valid credentials, but the user does not have permission (make sure the user is a superuser).',
    );
  }
  if (principal.key && !ipAllowed(principal.key.allowed_ips, clientIp)) {
    throw new ApiError(
      'IP_NOT_ALLOWED',
      `Valid API key, but it may not be used from ${clientIp}; it is limited to ${principal.key.allowed_ips.join(', ')}.`,
    );
  }
  const unsafe = !SAFE_METHODS.has(request.method.toUpperCase());
  if (unsafe && !principal.writeEnabled) {
    throw new ApiError(
      'KEY_READ_ONLY',
      'Valid API key, but it is read-only (write_enabled is false); only GET, HEAD and OPTIONS are allowed.',
    );
  }
  if (unsafe && principal.method === 'SessionAuth') {
    const sent = request.headers.get('x-csrf-token');
    if (!sent || sent !== principal.session?.csrf_token) {
      throw new ApiError(
        'CSRF_FAILED',
        'Requests that change something with the session cookie must send the X-CSRF-Token header given at login.',
      );
    }
  }
  if (principal.key) store.keys.recordUse(principal.key, clientIp);
  return principal;
}

/** The X-Auth-* headers of an authenticated response. */
export function authHeaders(principal: Principal): Record<string, string> {
  return {
    'X-Auth-Method': principal.method,
    'X-Auth-Expires': principal.expiresAt ?? 'never',
    'X-Auth-Token-Id': principal.tokenId ?? 'none',
    'X-Auth-User-Id': principal.user.id,
    'X-Auth-User-Username': principal.user.username,
  };
}
