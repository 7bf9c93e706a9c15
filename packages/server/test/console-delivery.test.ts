// The web console's files as the server serves them: /console and its hashed assets under a
// CSP that allows nothing inline and nothing from elsewhere, 304s and compression, the
// redirects from the ArchiveBox and NetBox token pages, and a clear page before a build.
// The console itself is driven in Chromium by packages/console/test/console.test.ts.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/test-server.js';

const INDEX = `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Latchkey console</title>
<script type="module" crossorigin src="/console/assets/index-abc123.js"></script>
<link rel="stylesheet" crossorigin href="/console/assets/index-abc123.css"></head>
<body><div id="app"></div></body></html>`;
const SCRIPT = `console.log(${JSON.stringify('x'.repeat(4000))});\n`;

describe('the console at /console', () => {
  let dist: string;
  let s: TestServer;
  let empty: TestServer;

  beforeAll(async () => {
    dist = mkdtempSync(path.join(tmpdir(), 'latchkey-console-'));
    mkdirSync(path.join(dist, 'assets'));
    writeFileSync(path.join(dist, 'index.html'), INDEX);
    writeFileSync(path.join(dist, 'assets', 'index-abc123.js'), SCRIPT);
    writeFileSync(path.join(dist, 'assets', 'index-abc123.css'), 'body { color: black; }\n');
    s = await startTestServer('sqlite', {}, { consoleDir: dist });
    empty = await startTestServer('sqlite', {}, { consoleDir: path.join(dist, 'not-built') });
  });
  afterAll(async () => {
    await s?.close();
    await empty?.close();
    rmSync(dist, { recursive: true, force: true });
  });

  it('serves index.html at /console and /console/ under a strict CSP, revalidated each time', async () => {
    for (const url of ['/console', '/console/']) {
      const res = await s.fetch(url);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(await res.text()).toBe(INDEX);
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|sha256-|https?:/);
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('cache-control')).toBe('no-cache');
      const again = await s.fetch(url, { headers: { 'If-None-Match': res.headers.get('etag') ?? '' } });
      expect(again.status).toBe(304);
    }
  });

  it('serves the hashed assets for a year, compressed when asked', async () => {
    const res = await s.fetch('/console/assets/index-abc123.js', { headers: { 'Accept-Encoding': 'gzip' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(res.headers.get('content-encoding')).toBe('gzip');
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(await res.text()).toBe(SCRIPT);
    const css = await s.fetch('/console/assets/index-abc123.css');
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
  });

  it('answers 404 problems for files the build did not write, and for paths that climb out', async () => {
    for (const url of [
      '/console/assets/other.js',
      '/console/../package.json',
      '/console/%2e%2e/package.json',
    ]) {
      const res = await s.fetch(url);
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
    }
  });

  it('redirects the ArchiveBox and NetBox token pages to the console', async () => {
    const cases: [string, string][] = [
      ['/admin/', '/console#/admin/keys'],
      ['/admin', '/console#/admin/keys'],
      ['/user/api-tokens/', '/console#/keys'],
    ];
    for (const [from, to] of cases) {
      const res = await s.fetch(from, { redirect: 'manual' });
      expect(res.status).toBe(302);
      expect(res.headers.get('location')).toBe(to);
    }
    // The admin API is not touched.
    expect((await s.fetch('/api/v1/admin/users')).status).toBe(401);
  });

  it('says how to build the console when it is not built', async () => {
    const res = await empty.fetch('/console');
    expect(res.status).toBe(503);
    expect(await res.text()).toContain('pnpm --filter @latchkey/console build');
    expect((await empty.fetch('/console/assets/index-abc123.js')).status).toBe(404);
  });
});
