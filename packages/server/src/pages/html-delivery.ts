import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';
import type { Middleware } from 'koa';
import { BoundedMap } from '../cache/bounded-map.js';
import { contentSecurityPolicy } from './content-security-policy.js';

const gzipAsync = promisify(gzip);
const brotliAsync = promisify(brotliCompress);

/** An HTML page as it is sent: its bytes in each encoding, its validator and its headers. */
export interface PreparedPage {
  identity: Buffer;
  gzip: Buffer | undefined;
  br: Buffer | undefined;
  etag: string;
  headers: Record<string, string>;
}

/** Pages smaller than this are sent as they are: compressing them saves less than a packet. */
const MIN_COMPRESSED_BYTES = 1024;

/** The headers of every HTML page: a CSP for exactly its inline content, and no sniffing, referrer or framing. */
export function htmlSecurityHeaders(html: string): Record<string, string> {
  return {
    'Content-Security-Policy': contentSecurityPolicy(html),
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'DENY',
  };
}

async function prepare(html: string): Promise<PreparedPage> {
  const identity = Buffer.from(html, 'utf8');
  const etag = `W/"${createHash('sha256').update(identity).digest('base64url')}"`;
  let compressed: [Buffer | undefined, Buffer | undefined] = [undefined, undefined];
  if (identity.length >= MIN_COMPRESSED_BYTES) {
    // Once per page and process, off the event loop (zlib's thread pool). Brotli quality 9
    // is within 10 % of the best (quality 11) in a twentieth of the time.
    compressed = await Promise.all([
      gzipAsync(identity, { level: 9 }),
      brotliAsync(identity, {
        params: {
          [constants.BROTLI_PARAM_QUALITY]: 9,
          [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
          [constants.BROTLI_PARAM_SIZE_HINT]: identity.length,
        },
      }),
    ]);
  }
  return {
    identity,
    gzip: compressed[0],
    br: compressed[1],
    etag,
    headers: { ...htmlSecurityHeaders(html), ETag: etag, 'Cache-Control': 'no-cache' },
  };
}

/**
 * Pages prepared so far, by their text, for the whole process: the reference page (the same
 * string on every request, so the lookup is one hash kept by the string) and the small pages
 * Latchkey renders (error pages, the root page).
 */
const prepared = new BoundedMap<Promise<PreparedPage>>(256, Number.POSITIVE_INFINITY);

export function preparePage(html: string): Promise<PreparedPage> {
  let page = prepared.get(html);
  if (!page) {
    page = prepare(html);
    prepared.set(html, page);
  }
  return page;
}

/** `br`, `gzip` or `identity`: the best encoding the request accepts (RFC 9110 Accept-Encoding, q-values included). */
export function chooseEncoding(acceptEncoding: string): 'br' | 'gzip' | 'identity' {
  const q = new Map<string, number>();
  for (const part of acceptEncoding.split(',')) {
    const [name = '', ...params] = part.trim().toLowerCase().split(';');
    if (!name) continue;
    const weight = params.map((p) => /^\s*q=([01](?:\.\d{0,3})?)\s*$/.exec(p)?.[1]).find(Boolean);
    q.set(name.trim(), weight === undefined ? 1 : Number(weight));
  }
  const accepts = (name: string) => (q.get(name) ?? q.get('*') ?? 0) > 0;
  if (accepts('br')) return 'br';
  if (accepts('gzip') || accepts('x-gzip')) return 'gzip';
  return 'identity';
}

/** Whether an If-None-Match header names this ETag (weak comparison, as RFC 9110 asks for GET). */
export function matchesEtag(ifNoneMatch: string, etag: string): boolean {
  if (ifNoneMatch.trim() === '*') return true;
  const opaque = (tag: string) => tag.trim().replace(/^W\//, '');
  return ifNoneMatch.split(',').some((tag) => opaque(tag) === opaque(etag));
}

/**
 * Sends every HTML page properly: security headers (a Content-Security-Policy that allows
 * exactly the page's inline scripts and styles by hash), an ETag with 304 on If-None-Match,
 * and the body compressed once with brotli or gzip when the client accepts it.
 */
export function htmlDelivery(): Middleware {
  return async (ctx, next) => {
    await next();
    if (ctx.status !== 200 || typeof ctx.body !== 'string' || !ctx.response.is('html')) return;
    const page = await preparePage(ctx.body);
    ctx.set(page.headers);
    ctx.vary('Accept-Encoding');
    const ifNoneMatch = ctx.get('if-none-match');
    if (ifNoneMatch && matchesEtag(ifNoneMatch, page.etag)) {
      ctx.status = 304;
      return;
    }
    const encoding = chooseEncoding(ctx.get('accept-encoding'));
    const body = encoding === 'identity' ? page.identity : page[encoding];
    if (body && encoding !== 'identity') {
      ctx.body = body;
      ctx.set('Content-Encoding', encoding);
    } else {
      ctx.body = page.identity;
    }
  };
}
