import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { ERROR_CODES } from '@latchkey/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isOutside, parseCsp, readPage, sha256Source } from './support/html.js';
import { startTestServer, type TestServer } from './support/test-server.js';

const REFERENCE = readFileSync(new URL('../../../docs/reference.html', import.meta.url), 'utf8');
const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8';

interface RawReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A GET that sends exactly these headers and returns the body as it came (fetch would decompress it). */
function rawGet(s: TestServer, path: string, headers: Record<string, string> = {}): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const req = request(`${s.baseUrl}${path}`, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** The body as the browser would read it, whatever its encoding. */
function decoded(r: RawReply): string {
  const encoding = r.headers['content-encoding'];
  if (encoding === 'br') return brotliDecompressSync(r.body).toString('utf8');
  if (encoding === 'gzip') return gunzipSync(r.body).toString('utf8');
  expect(encoding).toBeUndefined();
  return r.body.toString('utf8');
}

const PAGES = [
  { path: '/docs', what: 'the reference page' },
  { path: '/redoc', what: 'the reference page at the Redoc path' },
  { path: '/docs/errors/KEY_READ_ONLY', what: 'an error page' },
  { path: '/', what: 'the root page', headers: { accept: BROWSER_ACCEPT } },
];

describe('HTML pages', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer('sqlite');
  });
  afterAll(() => s.close());

  describe.each(PAGES)('$path ($what)', ({ path, headers = {} }) => {
    it('carries the security headers: a strict CSP, nosniff, no referrer, no framing', async () => {
      const r = await rawGet(s, path, { ...headers, 'accept-encoding': 'identity' });
      expect(r.status).toBe(200);
      expect(r.headers['content-type']).toMatch(/^text\/html; charset=utf-8/);
      expect(r.headers['x-content-type-options']).toBe('nosniff');
      expect(r.headers['referrer-policy']).toBe('no-referrer');
      expect(r.headers['x-frame-options']).toBe('DENY');
      const header = String(r.headers['content-security-policy'] ?? '');
      const csp = parseCsp(header);
      expect(csp.get('default-src')).toEqual(["'none'"]);
      expect(csp.get('frame-ancestors')).toEqual(["'none'"]);
      expect(csp.get('base-uri')).toEqual(["'none'"]);
      expect(csp.get('form-action')).toEqual(["'none'"]);
      expect(header).not.toMatch(/'unsafe-inline'|'unsafe-eval'|\*|https?:|blob:/);
    });

    it('still works under its CSP: every inline script and style is allowed by its hash, and nothing else runs', async () => {
      const r = await rawGet(s, path, { ...headers, 'accept-encoding': 'identity' });
      const page = readPage(decoded(r));
      const csp = parseCsp(String(r.headers['content-security-policy']));
      const scriptSources = csp.get('script-src') ?? [];
      const styleSources = csp.get('style-src') ?? [];
      for (const script of page.scripts) expect(scriptSources).toContain(sha256Source(script));
      for (const style of page.styles) expect(styleSources).toContain(sha256Source(style));
      if (page.styleAttributes.length) expect(styleSources).toContain("'unsafe-hashes'");
      for (const style of page.styleAttributes) expect(styleSources).toContain(sha256Source(style));
      // Inline event handlers would need 'unsafe-hashes' for scripts; there are none.
      expect(page.handlers).toEqual([]);
      expect(page.loads.filter(isOutside)).toEqual([]);
      // Exactly the page's scripts are allowed: none left over from another page.
      expect(scriptSources.filter((src) => src !== "'none'")).toHaveLength(
        new Set(page.scripts.map(sha256Source)).size,
      );
    });

    it('sends an ETag and answers 304 to If-None-Match, whatever encoding the client keeps', async () => {
      const first = await rawGet(s, path, { ...headers, 'accept-encoding': 'gzip' });
      const etag = String(first.headers.etag ?? '');
      expect(etag).toMatch(/^W\/"[\w-]{43}"$/);
      expect(first.headers['cache-control']).toBe('no-cache');
      expect(String(first.headers.vary)).toMatch(/accept-encoding/i);
      const again = await rawGet(s, path, { ...headers, 'if-none-match': etag, 'accept-encoding': 'br' });
      expect(again.status).toBe(304);
      expect(again.body.length).toBe(0);
      expect(again.headers.etag).toBe(etag);
      const list = await rawGet(s, path, { ...headers, 'if-none-match': `"other", ${etag.slice(2)}` });
      expect(list.status).toBe(304);
      const stale = await rawGet(s, path, { ...headers, 'if-none-match': 'W/"something-else"' });
      expect(stale.status).toBe(200);
      expect(stale.headers.etag).toBe(etag);
    });
  });

  it('compresses /docs with brotli or gzip as accepted, from the same bytes, and sends it as is otherwise', async () => {
    const br = await rawGet(s, '/docs', { 'accept-encoding': 'gzip, deflate, br' });
    expect(br.headers['content-encoding']).toBe('br');
    expect(decoded(br) === REFERENCE).toBe(true);
    const gzip = await rawGet(s, '/docs', { 'accept-encoding': 'gzip, br;q=0' });
    expect(gzip.headers['content-encoding']).toBe('gzip');
    expect(decoded(gzip) === REFERENCE).toBe(true);
    const plain = await rawGet(s, '/docs', {});
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(decoded(plain) === REFERENCE).toBe(true);
    const refused = await rawGet(s, '/docs', { 'accept-encoding': 'br;q=0, gzip;q=0' });
    expect(refused.headers['content-encoding']).toBeUndefined();
    // 2.6 MB as it is, about 0.7 MB gzipped.
    expect(plain.body.length).toBeGreaterThan(2_000_000);
    expect(gzip.body.length).toBeLessThan(900_000);
    expect(br.body.length).toBeLessThan(gzip.body.length);
    expect(Number(br.headers['content-length'])).toBe(br.body.length);
    for (const r of [br, gzip, plain]) expect(r.headers.etag).toBe(br.headers.etag);
  });

  it('GET / gives a browser a page that links to /docs, and API clients JSON', async () => {
    const html = await s.fetch('/', { headers: { accept: BROWSER_ACCEPT } });
    expect(html.headers.get('content-type')).toMatch(/^text\/html/);
    expect(html.headers.get('vary')).toMatch(/accept\b/i);
    const page = readPage(await html.text());
    const links = page.elements
      .filter((e) => e.tagName === 'a')
      .map((e) => e.attrs.find((a) => a.name === 'href')?.value);
    expect(links).toEqual(['/docs', '/health', '/meta', '/openapi.json', '/openapi.yaml']);
    expect(page.scripts).toEqual([]);
    for (const accept of [undefined, '*/*', 'application/json', 'application/json, text/html;q=0.5']) {
      const json = await s.call('/', accept ? { headers: { accept } } : {});
      expect(json.headers.get('content-type'), accept).toMatch(/^application\/json/);
      expect(json.body.links).toMatchObject({ docs: '/docs', health: '/health' });
      expect(json.headers.get('vary')).toMatch(/accept\b/i);
      expect(json.headers.get('content-security-policy')).toBeNull();
    }
  });

  it('every error page passes the same checks', async () => {
    for (const code of Object.keys(ERROR_CODES)) {
      const r = await rawGet(s, `/docs/errors/${code}`, { 'accept-encoding': 'identity' });
      const page = readPage(decoded(r));
      const styles = parseCsp(String(r.headers['content-security-policy'])).get('style-src') ?? [];
      for (const style of page.styles) expect(styles, code).toContain(sha256Source(style));
      expect(page.scripts, code).toEqual([]);
    }
  });
});
