import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONTRACT, ERROR_CODES } from '@latchkey/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem } from './support/expect.js';
import { isOutside, readPage } from './support/html.js';
import { startTestServer, type TestServer } from './support/test-server.js';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DOCS_DIR = path.join(REPO_ROOT, 'docs');
const REFERENCE = path.join(DOCS_DIR, 'reference.html');

/**
 * Files that other work in progress is writing right now. A link to one of them is accepted
 * while the file does not exist yet; once it exists, the link is checked like any other.
 */
const PENDING_FILES = new Set(['docs/deployment.md', 'docs/performance.md', 'packages/mock/README.md']);

/**
 * Hosts that Redoc's bundle names but never fetches by itself, each for a reason:
 * - www.w3.org: XML namespaces (SVG, MathML), identifiers only;
 * - redocly.com, github.com, react.dev, reactrouter.com, yarnpkg.com: links in the footer and in
 *   error and lint messages, followed only when the reader clicks;
 * - claude.ai, chatgpt.com: "connect to an AI assistant" links, opened on click;
 * - en.wikipedia.org, commonmark.org: text of GraphQL scalar descriptions;
 * - localhost, example.com: base URLs for parsing and examples (127.0.0.1 is the contract's server).
 * Redoc's logo, icon and telemetry hosts are not here: pnpm docs:build removes them.
 */
const NEVER_FETCHED_HOSTS = new Set([
  'www.w3.org',
  'redocly.com',
  'github.com',
  'react.dev',
  'reactrouter.com',
  'yarnpkg.com',
  'claude.ai',
  'chatgpt.com',
  'en.wikipedia.org',
  'commonmark.org',
  'example.com',
]);
/** A URL of a file a page would load (script, style, image, font) is never accepted, whatever its host. */
const ASSET = /\.(?:m?js|css|svg|png|jpe?g|gif|webp|avif|ico|woff2?|ttf|otf|eot)(?:[?#]|$)/i;

const read = (relative: string) => readFileSync(path.join(REPO_ROOT, relative), 'utf8');

function markdownFiles(dir = DOCS_DIR): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) out.push(...markdownFiles(full));
    else if (entry.endsWith('.md')) out.push(path.relative(REPO_ROOT, full));
  }
  return out.sort();
}

/** Markdown without fenced blocks and inline code, so that only real links and headings remain. */
function proseOf(markdown: string): string {
  return markdown.replace(/^\s*```[^\n]*\n[\s\S]*?^\s*```[ \t]*$/gm, '').replace(/`[^`\n]*`/g, '');
}

/** GitHub's anchor for a heading: lowercase, punctuation dropped, spaces to hyphens. */
function headingSlug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The anchors a Markdown file offers: one per heading, with -1, -2 … for repeated headings. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const match of markdown
    .replace(/^\s*```[^\n]*\n[\s\S]*?^\s*```[ \t]*$/gm, '')
    .matchAll(/^#{1,6}\s+(.+?)\s*$/gm)) {
    const slug = headingSlug(match[1] ?? '');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    anchors.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return anchors;
}

/** The targets of the inline links `[text](target)` of a Markdown text. */
function linksOf(markdown: string): string[] {
  return [...proseOf(markdown).matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1] ?? '');
}

/** What is wrong with one relative link from `from` (a repository path), or undefined. */
function brokenLink(from: string, target: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return undefined; // http:, https:, mailto:
  const [file = '', anchor] = target.split('#');
  const resolved = file === '' ? from : path.normalize(path.join(path.dirname(from), decodeURI(file)));
  if (resolved.startsWith('..')) return `${target} leaves the repository`;
  const full = path.join(REPO_ROOT, resolved);
  if (!existsSync(full))
    return PENDING_FILES.has(resolved) ? undefined : `${target}: ${resolved} does not exist`;
  if (anchor !== undefined) {
    if (!resolved.endsWith('.md')) return `${target}: anchors are only checked in Markdown files`;
    if (!anchorsOf(readFileSync(full, 'utf8')).has(anchor))
      return `${target}: ${resolved} has no heading with the anchor #${anchor}`;
  }
  return undefined;
}

function jsonBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```json\n([\s\S]*?)^```\s*$/gm)].map((m) => m[1] ?? '');
}

function operationIds(): string[] {
  const doc = CONTRACT as { paths: Record<string, Record<string, { operationId?: string }>> };
  return Object.values(doc.paths).flatMap((item) =>
    Object.values(item).flatMap((op) =>
      op && typeof op === 'object' && op.operationId ? [op.operationId] : [],
    ),
  );
}

describe('error pages', () => {
  const codes = Object.keys(ERROR_CODES) as (keyof typeof ERROR_CODES)[];
  const pages = readdirSync(path.join(DOCS_DIR, 'errors'))
    .filter((f) => f.endsWith('.md') && f !== 'README.md')
    .map((f) => f.slice(0, -3));

  it('has a page in docs/errors/ for every problem code', () => {
    expect(codes.filter((code) => !pages.includes(code))).toEqual([]);
  });

  it('has no page for a code the server does not have', () => {
    expect(pages.filter((page) => !(page in ERROR_CODES))).toEqual([]);
  });

  it.each(codes.filter((code) => pages.includes(code)))(
    '%s: says what it means, when it happens, what to do, with an example body',
    (code) => {
      const markdown = read(`docs/errors/${code}.md`);
      const { status, title } = ERROR_CODES[code];
      expect(markdown.split('\n')[0]).toBe(`# ${code}: ${title}`);
      for (const heading of ['## What it means', '## When it happens', '## What to do', '## Example'])
        expect(markdown, `docs/errors/${code}.md needs the section "${heading}"`).toContain(`\n${heading}\n`);
      const examples = jsonBlocks(markdown.slice(markdown.indexOf('\n## Example\n')));
      expect(examples.length, 'a ```json example body').toBeGreaterThan(0);
      const body = JSON.parse(examples[0] ?? '');
      expect(body).toMatchObject({ type: `/docs/errors/${code}`, title, status, code });
      expect(body.detail).toEqual(expect.any(String));
    },
  );
});

describe('links', () => {
  const files = ['README.md', ...markdownFiles()];

  it.each(files)('%s: every relative link points at an existing file and heading', (file) => {
    const broken = linksOf(read(file))
      .map((target) => brokenLink(file, target))
      .filter(Boolean);
    expect(broken).toEqual([]);
  });

  it('finds a broken file link and a broken anchor (the check itself works)', () => {
    expect(brokenLink('docs/keys.md', 'no-such-guide.md')).toMatch(/does not exist/);
    expect(brokenLink('docs/keys.md', 'authentication.md#no-such-heading')).toMatch(/no heading/);
    expect(brokenLink('docs/keys.md', 'authentication.md#refusals')).toBeUndefined();
    expect(brokenLink('README.md', 'docs/keys.md')).toBeUndefined();
  });

  it('docs/README.md links every guide, and the root README links docs/README.md', () => {
    const index = read('docs/README.md');
    const linked = new Set(
      linksOf(index).map((t) => path.normalize(path.join('docs', t.split('#')[0] ?? ''))),
    );
    const guides = markdownFiles().filter((f) => path.dirname(f) === 'docs' && f !== 'docs/README.md');
    expect(guides.filter((g) => !linked.has(g))).toEqual([]);
    expect(linksOf(read('README.md'))).toContain('docs/README.md');
  });
});

describe('the API reference page', () => {
  const html = () => readFileSync(REFERENCE, 'utf8');

  it('is committed at docs/reference.html and loads nothing from the network', () => {
    const page = html();
    expect(page).toContain('<title>Latchkey API reference</title>');
    // What the HTML itself loads: script src, stylesheets and icons, images, frames, CSS url() and @import.
    expect(readPage(page).loads.filter(isOutside)).toEqual([]);
    // What its scripts could load: every outside URL named anywhere in the page must be one that
    // is never fetched by itself (a link the reader may follow, an XML namespace, message text).
    const named = [
      ...new Set(page.match(/(?:https?:|(?<![\w:/]))\/\/[a-z0-9.-]+\.[a-z]{2,}[^\s"'`<>)\\]*/gi) ?? []),
    ];
    const loaded = named.filter((url) => {
      const host = /^(?:https?:)?\/\/([^/:]+)/i.exec(url)?.[1]?.toLowerCase() ?? '';
      return !NEVER_FETCHED_HOSTS.has(host) || ASSET.test(url);
    });
    expect(loaded).toEqual([]);
    expect(page).toContain('"disableTelemetry":true');
  });

  it('the offline check finds the outside URLs that Redoc loads by itself', () => {
    const named = (page: string) =>
      (page.match(/(?:https?:|(?<![\w:/]))\/\/[a-z0-9.-]+\.[a-z]{2,}[^\s"'`<>)\\]*/gi) ?? []).filter(
        (url) => {
          const host = /^(?:https?:)?\/\/([^/:]+)/i.exec(url)?.[1]?.toLowerCase() ?? '';
          return !NEVER_FETCHED_HOSTS.has(host) || ASSET.test(url);
        },
      );
    expect(named('src:`https://cdn.redoc.ly/redoc/logo-mini.svg`')).toHaveLength(1);
    expect(named('collectorTraceUrl:`https://otel.cloud.redocly.com/v1/traces`')).toHaveLength(1);
    expect(named('fetch("https://redocly.com/assets/logo.svg")')).toHaveLength(1);
    expect(named('see https://redocly.com/docs/cli/rules for more')).toEqual([]);
    expect(
      readPage('<link rel="stylesheet" href="//fonts.example/css">').loads.filter(isOutside),
    ).toHaveLength(1);
  });

  it('documents every operation of the contract', () => {
    const page = html();
    expect(operationIds().filter((id) => !page.includes(`"operationId":"${id}"`))).toEqual([]);
  });

  it('is what `pnpm docs:build` builds from the current openapi.yaml (rebuild and commit it when this fails)', () => {
    const script = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts[
      'docs:build'
    ];
    expect(script).toContain('docs/reference.html');
    const out = mkdtempSync(path.join(tmpdir(), 'latchkey-docs-'));
    try {
      const target = path.join(out, 'reference.html');
      execFileSync('sh', ['-c', (script ?? '').replace('docs/reference.html', target)], {
        cwd: REPO_ROOT,
        env: { ...process.env, PATH: `${path.join(REPO_ROOT, 'node_modules/.bin')}:${process.env.PATH}` },
        stdio: 'pipe',
      });
      expect(
        readFileSync(target, 'utf8') === html(),
        'docs/reference.html is stale: run pnpm docs:build',
      ).toBe(true);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('docs served by the server', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer('sqlite');
  });
  afterAll(() => s.close());

  it.each(['/docs', '/redoc'])('GET %s answers the reference page', async (p) => {
    const res = await s.fetch(p);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect((await res.text()) === readFileSync(REFERENCE, 'utf8')).toBe(true);
  });

  it('GET /docs/errors/{code} answers the page of every code as HTML', async () => {
    for (const [code, { title }] of Object.entries(ERROR_CODES)) {
      const res = await s.fetch(`/docs/errors/${code}`);
      expect(res.status, code).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      const page = await res.text();
      expect(page).toContain(`<h1>${code}: ${title}</h1>`);
      expect(page).toContain('<h2>What to do</h2>');
      expect(page).not.toMatch(/href="[^"]*\.md"/);
    }
  });

  it('the type of a real problem answer leads to its page', async () => {
    const problem = await s.call('/api/v1/auth/whoami');
    expectProblem(problem, 401, 'AUTHENTICATION_REQUIRED');
    const page = await s.fetch(problem.body.type);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('AUTHENTICATION_REQUIRED');
  });

  it('answers 404 NOT_FOUND for a code that does not exist', async () => {
    expectProblem(await s.call('/docs/errors/NO_SUCH_CODE'), 404, 'NOT_FOUND');
    expectProblem(await s.call('/docs/errors/toString'), 404, 'NOT_FOUND');
  });
});
