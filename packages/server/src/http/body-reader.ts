import { bodyParser } from '@koa/bodyparser';
import { ApiError } from '@latchkey/core';
import type { Middleware } from 'koa';

/** The content codings a request body may arrive in (RFC 9110 §8.4). */
const CODINGS = new Set(['gzip', 'deflate', 'br', 'identity']);

/**
 * Reads request bodies as text for the core to parse (as the mock does), decoding gzip,
 * deflate and br. The coding's name is taken
 * case-insensitively; a body in any other coding is 415. Compressed data that does not decode
 * (corrupt, cut off) is 400 MALFORMED_BODY: the decoder's own error carries no status and
 * would otherwise be a 500. The size limit applies to the decoded body.
 */
export function bodyReader(maxBytes: number): Middleware {
  const parse = bodyParser({
    enableTypes: ['text'],
    extendTypes: { text: ['application/json', '+json', 'text/*'] },
    textLimit: maxBytes,
    encoding: 'utf-8',
  });
  return async (ctx, next) => {
    const header = ctx.req.headers['content-encoding'];
    const hasBody = (ctx.request.length ?? 0) > 0 || ctx.req.headers['transfer-encoding'] !== undefined;
    let coding: string | undefined;
    if (header !== undefined && hasBody) {
      coding = header.trim().toLowerCase();
      if (!CODINGS.has(coding)) {
        throw new ApiError(
          'UNSUPPORTED_MEDIA_TYPE',
          `Content-Encoding ${header} is not supported; send the body uncompressed or as gzip, deflate or br.`,
        );
      }
      // The decoder matches the name exactly.
      ctx.req.headers['content-encoding'] = coding;
    }
    try {
      // The rest of the chain runs after, outside this catch.
      await parse(ctx, async () => {});
    } catch (err) {
      const status = (err as { status?: unknown }).status;
      if (typeof status === 'number') throw err;
      throw ApiError.field(
        'body',
        `could not be decoded as ${coding ?? 'identity'} (${(err as Error).message})`,
        'MALFORMED_BODY',
      );
    }
    await next();
  };
}
