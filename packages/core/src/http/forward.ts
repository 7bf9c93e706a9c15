// Forward authentication: the request a reverse proxy asks about is not the one that reaches
// Latchkey. Its method and URI arrive in headers; these pure helpers read them.
import { ApiError } from '../api-error.js';
import { isSafeMethod } from '../auth/credential.js';
import { parseQuery } from './query.js';

/** Operations that decide about another request, the one a proxy holds. */
export const FORWARD_OPERATIONS: ReadonlySet<string> = new Set(['forwardAuth']);

/** The method and query string of the request a proxy asks about. */
export interface OriginalRequest {
  method: string;
  query: Record<string, string | string[]>;
}

const METHOD = /^[A-Za-z]{1,16}$/;
const MAX_URI_LENGTH = 8192;

/**
 * The original request from the headers proxies send: the method from `X-Forwarded-Method`
 * (Traefik, Caddy) or `X-Original-Method` (nginx), required; the URI from `X-Forwarded-Uri`
 * or `X-Original-URI`, optional, for its query string (where `?api_key=` may be).
 */
export function originalRequest(header: (name: string) => string | undefined): OriginalRequest {
  const forwardedMethod = header('x-forwarded-method');
  const method = forwardedMethod ?? header('x-original-method');
  const methodField =
    forwardedMethod !== undefined ? 'header.X-Forwarded-Method' : 'header.X-Original-Method';
  if (method === undefined) {
    throw ApiError.field(
      'header.X-Original-Method',
      'the original method is required: the proxy must send X-Forwarded-Method or X-Original-Method',
    );
  }
  if (!METHOD.test(method)) throw ApiError.field(methodField, 'must be an HTTP method: 1 to 16 letters');
  const forwardedUri = header('x-forwarded-uri');
  const uri = forwardedUri ?? header('x-original-uri');
  const uriField = forwardedUri !== undefined ? 'header.X-Forwarded-Uri' : 'header.X-Original-URI';
  if (uri !== undefined && uri.length > MAX_URI_LENGTH) {
    throw ApiError.field(uriField, `may be at most ${MAX_URI_LENGTH} characters`);
  }
  let query: Record<string, string | string[]> = {};
  if (uri) {
    const at = uri.indexOf('?');
    try {
      query = at < 0 ? {} : parseQuery(uri.slice(at + 1).split('#')[0] ?? '');
    } catch {
      throw ApiError.field(uriField, 'has a query string that cannot be read');
    }
  }
  return { method: method.toUpperCase(), query };
}

/**
 * Whether a forward request that presented no credential may pass as Anonymous: only when
 * the operator turned `loginRequired` off, and only for a safe original method.
 */
export function passesAnonymously(loginRequired: boolean, original: OriginalRequest): boolean {
  return !loginRequired && isSafeMethod(original.method);
}
