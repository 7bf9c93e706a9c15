import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';
import type { Middleware } from 'koa';
import { REPOSITORY_ROOT } from '../paths.js';
import { chooseEncoding, matchesEtag } from './html-delivery.js';

const gzipAsync = promisify(gzip);
const brotliAsync = promisify(brotliCompress);

/** Where `pnpm --filter @latchkey/console build` (run by `pnpm start`) writes the console. */
export const CONSOLE_DIST_URL = new URL('packages/console/dist/', REPOSITORY_ROOT);

/**
 * The console's policy: scripts, styles and requests from this origin only, nothing inline,
 * no framing. The console's build writes no inline script or style (docs/decisions/025).
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Old addresses of token pages in the products Latchkey stands in for, and where they lead. */
export const CONSOLE_REDIRECTS: Record<string, string> = {
  '/admin': '/console#/admin/keys',
  '/admin/': '/console#/admin/keys',
  '/user/api-tokens': '/console#/keys',
  '/user/api-tokens/': '/console#/keys',
};

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};

interface ConsoleFile {
  type: string;
  identity: Buffer;
  gzip: Buffer | undefined;
  br: Buffer | undefined;
  etag: string;
  /** Built files other than index.html carry a content hash in their name. */
  immutable: boolean;
}

interface ConsoleBuild {
  /** index.html's modification time: a new build is picked up without a restart. */
  version: number;
  files: Map<string, () => Promise<ConsoleFile>>;
}

async function prepareFile(file: string, immutable: boolean): Promise<ConsoleFile> {
  const identity = readFileSync(file);
  const type = TYPES[path.extname(file)] ?? 'application/octet-stream';
  const compressible = /^(text\/|application\/json|image\/svg)/.test(type) && identity.length >= 1024;
  const [gz, br] = compressible
    ? await Promise.all([
        gzipAsync(identity, { level: 9 }),
        brotliAsync(identity, { params: { [constants.BROTLI_PARAM_QUALITY]: 9 } }),
      ])
    : [undefined, undefined];
  const etag = `W/"${createHash('sha256').update(identity).digest('base64url')}"`;
  return { type, identity, gzip: gz, br, etag, immutable };
}

function listFiles(dir: string, prefix = ''): string[] {
  const names: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const name = `${prefix}/${entry.name}`;
    if (entry.isDirectory()) names.push(...listFiles(path.join(dir, entry.name), name));
    else if (entry.isFile()) names.push(name);
  }
  return names;
}

const NOT_BUILT = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Console not built</title></head>
<body><main><h1>The console is not built</h1>
<p>Build it with <code>pnpm --filter @latchkey/console build</code>; <code>pnpm start</code> builds it before it serves.</p>
</main></body></html>
`;

/**
 * Serves the web console's built files at `/console` (index.html at `/console` and
 * `/console/`, the hashed assets under `/console/assets/`) under {@link CONSOLE_CSP}, with
 * ETags, brotli or gzip, and long caching for hashed files; and redirects `/admin/` and
 * `/user/api-tokens/` to it. Only the files the build wrote are served, by exact name.
 */
export function consoleDelivery(dist: URL | string = CONSOLE_DIST_URL): Middleware {
  const dir = typeof dist === 'string' ? dist : fileURLToPath(dist);
  let build: ConsoleBuild | undefined;

  function currentBuild(): ConsoleBuild | undefined {
    let version: number;
    try {
      version = statSync(path.join(dir, 'index.html')).mtimeMs;
    } catch {
      build = undefined;
      return undefined;
    }
    if (build?.version !== version) {
      const files = new Map<string, () => Promise<ConsoleFile>>();
      for (const name of listFiles(dir)) {
        let prepared: Promise<ConsoleFile> | undefined;
        // Read and compressed on first request, then kept for this build.
        files.set(name, () => {
          prepared ??= prepareFile(path.join(dir, name), name !== '/index.html');
          return prepared;
        });
      }
      build = { version, files };
    }
    return build;
  }

  return async (ctx, next) => {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return next();
    const redirect = CONSOLE_REDIRECTS[ctx.path];
    if (redirect) {
      ctx.status = 302;
      ctx.redirect(redirect);
      return;
    }
    if (ctx.path !== '/console' && !ctx.path.startsWith('/console/')) return next();
    const name =
      ctx.path === '/console' || ctx.path === '/console/' ? '/index.html' : ctx.path.slice('/console'.length);
    const current = currentBuild();
    if (!current) {
      if (name !== '/index.html') return next();
      ctx.status = 503;
      ctx.type = 'text/html; charset=utf-8';
      ctx.set({ 'Content-Security-Policy': CONSOLE_CSP, 'Cache-Control': 'no-store' });
      ctx.body = Buffer.from(NOT_BUILT);
      return;
    }
    const prepare = current.files.get(name);
    if (!prepare) return next();
    let file: ConsoleFile;
    try {
      file = await prepare();
    } catch {
      // Removed by a build under way: forget this build; the core answers 404 until the next.
      build = undefined;
      return next();
    }
    ctx.set({
      'Content-Security-Policy': CONSOLE_CSP,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'X-Frame-Options': 'DENY',
      'Cache-Control': file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      ETag: file.etag,
    });
    ctx.vary('Accept-Encoding');
    ctx.type = file.type;
    const ifNoneMatch = ctx.get('if-none-match');
    if (ifNoneMatch && matchesEtag(ifNoneMatch, file.etag)) {
      ctx.status = 304;
      return;
    }
    const encoding = chooseEncoding(ctx.get('accept-encoding'));
    const body = encoding === 'identity' ? undefined : file[encoding];
    ctx.status = 200;
    if (body) {
      ctx.set('Content-Encoding', encoding);
      ctx.body = body;
    } else {
      ctx.body = file.identity;
    }
  };
}
