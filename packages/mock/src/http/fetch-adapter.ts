// Fetch's Request and Response on one side, the core's pipeline on the other: what msw
// and the mock HTTP server both hand the core.
import {
  type ApiError,
  type CookieSpec,
  type IncomingRequest,
  NO_BODY,
  type OutgoingResponse,
  PROBLEM_JSON,
  REQUEST_ID_HEADER,
  readJsonBody,
  toProblem,
} from '@latchkey/core';

/** A cookie's value from a Cookie header. */
export function readCookie(header: string | null, name: string): string | undefined {
  if (!header) return undefined;
  for (const pair of header.split(';')) {
    const at = pair.indexOf('=');
    if (at > 0 && pair.slice(0, at).trim() === name) {
      try {
        return decodeURIComponent(pair.slice(at + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** A Set-Cookie value, as the server's Koa writes it. */
export function serializeCookie(cookie: CookieSpec, now: number): string {
  const parts = [
    `${cookie.name}=${encodeURIComponent(cookie.value)}`,
    'path=/',
    `max-age=${cookie.maxAgeS}`,
    `expires=${new Date(now + cookie.maxAgeS * 1000).toUTCString()}`,
    `samesite=${cookie.sameSite}`,
  ];
  if (cookie.secure) parts.push('secure');
  if (cookie.httpOnly) parts.push('httponly');
  return parts.join('; ');
}

/** A request as the pipeline takes it; `path` is the path below the mock's base URL. */
export async function toIncoming(
  request: Request,
  path: string,
  clientIp: string,
  maxBodyBytes: number,
  requestId: string,
): Promise<IncomingRequest> {
  const url = new URL(request.url);
  const hasBody = request.method !== 'GET' && request.method !== 'HEAD';
  const body = hasBody
    ? readJsonBody(await request.clone().text(), request.headers.get('content-type'), maxBodyBytes)
    : NO_BODY;
  return {
    method: request.method,
    path,
    search: url.search.slice(1),
    header: (name) => request.headers.get(name) ?? undefined,
    cookie: (name) => readCookie(request.headers.get('cookie'), name),
    clientIp,
    secure: url.protocol === 'https:',
    body,
    requestId,
  };
}

/** The pipeline's answer as a fetch Response, carrying the request's id like the server's. */
export function toResponse(out: OutgoingResponse, now: number, requestId: string): Response {
  const headers = new Headers(out.headers);
  headers.set(REQUEST_ID_HEADER, requestId);
  for (const cookie of out.cookies) headers.append('Set-Cookie', serializeCookie(cookie, now));
  if (out.body === undefined || out.status === 204)
    return new Response(null, { status: out.status, headers });
  if (out.contentType && !out.contentType.includes('json')) {
    headers.set('Content-Type', out.contentType);
    return new Response(String(out.body), { status: out.status, headers });
  }
  headers.set('Content-Type', out.contentType ?? 'application/json; charset=utf-8');
  return new Response(JSON.stringify(out.body), { status: out.status, headers });
}

/** A problem response for an error outside the pipeline (a body that cannot be read). */
export function problemResponse(error: ApiError, path: string, requestId: string): Response {
  return new Response(JSON.stringify(toProblem(error, path, requestId)), {
    status: error.status,
    headers: { ...error.headers, 'Content-Type': PROBLEM_JSON, [REQUEST_ID_HEADER]: requestId },
  });
}
