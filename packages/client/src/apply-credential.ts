import type { UsernamePassword } from './credentials.js';
import type { SchemeChoice, SchemeDefinition } from './security.js';

/** The header that carries the CSRF token on unsafe requests authenticated by the session cookie. */
export const CSRF_HEADER = 'X-CSRF-Token';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

/** What goes into the chosen scheme: a key or JWT, a username and password, or the CSRF token. */
export type CredentialValue =
  | { type: 'secret'; value: string }
  | { type: 'password'; value: UsernamePassword }
  | { type: 'session'; csrfToken: string | undefined };

/**
 * Base64 of UTF-8 text, as Basic authentication needs it (RFC 7617), with browser APIs only.
 *
 * @example
 * ```ts
 * encodeBasic({ username: 'zoë', password: 'pw' }); // 'em/Dqzpwdw=='
 * ```
 */
export function encodeBasic({ username, password }: UsernamePassword): string {
  let binary = '';
  for (const byte of new TextEncoder().encode(`${username}:${password}`)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

async function copyWithUrl(request: Request, url: URL, headers: Headers): Promise<Request> {
  const body = request.body === null ? undefined : await request.arrayBuffer();
  return new Request(url, {
    body,
    cache: request.cache,
    credentials: request.credentials,
    headers,
    integrity: request.integrity,
    keepalive: request.keepalive,
    method: request.method,
    mode: request.mode,
    redirect: request.redirect,
    referrer: request.referrer,
    referrerPolicy: request.referrerPolicy,
    signal: request.signal,
  });
}

/**
 * Returns `request` carrying the credential in the chosen scheme and no other: any header
 * or query parameter that one of `schemes` uses is removed first, so that a request never
 * presents two credentials.
 *
 * @example
 * ```ts
 * const choice = selectScheme(findOperation('GET', '/api/v1/auth/whoami')!, 'token')!;
 * const sent = await applyCredential(request, choice, { type: 'secret', value: key });
 * sent.headers.get('Authorization'); // 'Token lk_…'
 * ```
 */
export async function applyCredential(
  request: Request,
  choice: SchemeChoice,
  credential: CredentialValue,
  schemes: Readonly<Record<string, SchemeDefinition>>,
): Promise<Request> {
  const headers = new Headers(request.headers);
  const url = new URL(request.url);
  const queryBefore = url.search;
  for (const definition of Object.values(schemes)) {
    if (definition.type === 'http') headers.delete('Authorization');
    else if (definition.type === 'apiKey' && definition.name) {
      if (definition.in === 'header') headers.delete(definition.name);
      if (definition.in === 'query') url.searchParams.delete(definition.name);
    }
  }

  const name = choice.definition.name ?? 'Authorization';
  const secret = (): string => {
    if (credential.type !== 'secret')
      throw new TypeError(`${choice.name} needs a key or token, not ${credential.type}`);
    return credential.value;
  };
  switch (choice.kind) {
    case 'apiKeyHeader':
      headers.set(name, secret());
      break;
    case 'token':
      headers.set(name, `Token ${secret()}`);
      break;
    case 'bearer':
      headers.set('Authorization', `Bearer ${secret()}`);
      break;
    case 'query':
      url.searchParams.set(name, secret());
      break;
    case 'basic':
      if (credential.type !== 'password') throw new TypeError(`${choice.name} needs a username and password`);
      headers.set('Authorization', `Basic ${encodeBasic(credential.value)}`);
      break;
    case 'session':
      if (credential.type !== 'session') throw new TypeError(`${choice.name} is the browser session cookie`);
      // The browser sends the cookie itself; unsafe methods also need the CSRF token.
      if (credential.csrfToken && !SAFE_METHODS.has(request.method))
        headers.set(CSRF_HEADER, credential.csrfToken);
      break;
    case 'unsupported':
      throw new TypeError(`${choice.name} is not a scheme this client can send`);
  }

  if (url.search !== queryBefore) return copyWithUrl(request, url, headers);
  return new Request(request, { headers });
}
