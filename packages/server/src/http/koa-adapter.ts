import type { IncomingMessage } from 'node:http';
import {
  type Core,
  type IncomingBody,
  type IncomingRequest,
  mediaType,
  NO_BODY,
  type OutgoingResponse,
  readJsonBody,
  resolveClientIp,
} from '@latchkey/core';
import type { Context, Middleware } from 'koa';

/**
 * Node keeps only the first of repeated Authorization headers; the core must see every one
 * (two credentials are a 400), so repeats are joined as HTTP joins other headers.
 */
function authorizationHeader(req: IncomingMessage): string | undefined {
  const first = req.headers.authorization;
  if (first === undefined) return undefined;
  let seen = 0;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length === 13 && name.toLowerCase() === 'authorization' && ++seen > 1) {
      return (req.headersDistinct.authorization ?? [first]).join(', ');
    }
  }
  return first;
}

/** The body as the core wants it: bodyparser reads and decompresses, the core parses. */
function bodyOf(ctx: Context, maxBytes: number): IncomingBody {
  const hasBody = (ctx.request.length ?? 0) > 0 || ctx.get('transfer-encoding') !== '';
  if (!hasBody) return NO_BODY;
  const raw = (ctx.request as { body?: unknown }).body;
  if (typeof raw === 'string') return readJsonBody(raw, ctx.get('content-type'), maxBytes);
  return { present: true, json: false, type: mediaType(ctx.get('content-type')), value: undefined };
}

/** Writes the core's answer to Koa's response. */
function write(ctx: Context, out: OutgoingResponse): void {
  ctx.status = out.status;
  ctx.set(out.headers);
  for (const cookie of out.cookies) {
    ctx.cookies.secure = cookie.secure;
    ctx.cookies.set(cookie.name, cookie.value, {
      path: '/',
      sameSite: cookie.sameSite,
      secure: cookie.secure,
      httpOnly: cookie.httpOnly,
      maxAge: cookie.maxAgeS * 1000,
      overwrite: true,
    });
  }
  if (out.body !== undefined) {
    ctx.body = out.body;
    if (out.contentType) ctx.type = out.contentType;
  }
}

/**
 * Every request through the core's pipeline: Koa gives the request, the core answers. The
 * client address comes from the socket, or from X-Forwarded-For through a trusted proxy.
 */
export function corePipeline(
  core: Core,
  settings: { trustedProxies: string[]; maxBodyBytes: number },
): Middleware {
  return async (ctx) => {
    const req = ctx.req;
    const headers = req.headers;
    const clientIp = resolveClientIp(
      req.socket.remoteAddress ?? '',
      headers['x-forwarded-for'] as string | undefined,
      settings.trustedProxies,
    );
    ctx.state.clientIp = clientIp;
    // A body that cannot be read is refused before routing, as the mock does.
    const body = bodyOf(ctx, settings.maxBodyBytes);
    const request: IncomingRequest = {
      method: ctx.method,
      path: ctx.path,
      search: ctx.querystring,
      header: (name) => {
        if (name === 'authorization') return authorizationHeader(req);
        const value = headers[name];
        return Array.isArray(value) ? value.join(', ') : value;
      },
      cookie: (name) => ctx.cookies.get(name),
      clientIp,
      secure: ctx.secure,
      body,
      requestId: ctx.state.requestId as string | undefined,
    };
    const out = await core.pipeline.handle(request);
    ctx.state.operationId = out.operationId;
    if (out.principal) ctx.state.userId = out.principal.user.id;
    write(ctx, out);
  };
}
