import { readFileSync } from 'node:fs';
import { ApiError, ERROR_CODES, type ErrorCode, type Handler } from '@latchkey/core';
import { Marked, type Tokens } from 'marked';
import { REPOSITORY_ROOT } from '../paths.js';

/** The docs folder at the root of the repository. */
export const DOCS_URL = new URL('docs/', REPOSITORY_ROOT);
/** The Redoc page written by `pnpm docs:build`. */
export const REFERENCE_URL = new URL('reference.html', DOCS_URL);

let referencePage: string | undefined;

/** The built reference page, read once: it changes only with a new build, that is a new release. */
function readReferencePage(): string {
  referencePage ??= readFileSync(REFERENCE_URL, 'utf8');
  return referencePage;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_CODES, code);
}

/**
 * Markdown of the error pages as HTML. A link to another error page (`KEY_NOT_FOUND.md`)
 * becomes its served path, one to the reference becomes `/docs`; a link to a guide, which the
 * server does not serve, keeps its text and names the file in the repository.
 */
const errorPageMarkdown = new Marked({
  renderer: {
    link(this: { parser: { parseInline(tokens: Tokens.Generic[]): string } }, token: Tokens.Link) {
      const text = this.parser.parseInline(token.tokens);
      const sibling = /^([A-Z][A-Z0-9_]*)\.md$/.exec(token.href)?.[1];
      if (sibling && isErrorCode(sibling)) return `<a href="${sibling}">${text}</a>`;
      if (token.href === '../reference.html') return `<a href="/docs">${text}</a>`;
      if (/^[a-z]+:/i.test(token.href)) return `<a href="${escapeHtml(token.href)}">${text}</a>`;
      const file = new URL(token.href, 'http://x/docs/errors/').pathname.slice(1);
      return `${text} (<code>${escapeHtml(file)}</code> in the repository)`;
    },
  },
});

/** `docs/errors/<CODE>.md` rendered as a small standalone HTML page. */
export function renderErrorPage(code: ErrorCode): string {
  const markdown = readFileSync(new URL(`errors/${code}.md`, DOCS_URL), 'utf8');
  const body = errorPageMarkdown.parse(markdown, { async: false });
  const title = `${code}: ${ERROR_CODES[code].title}`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
body { font-family: system-ui, sans-serif; line-height: 1.5; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; color: #1b1b1b; }
pre { background: #f4f4f4; padding: 0.75rem; overflow-x: auto; }
code { font-size: 0.95em; }
</style>
</head>
<body>
<main>
${body}</main>
<footer><p><a href="/docs">API reference</a></p></footer>
</body>
</html>
`;
}

/**
 * The server's own handlers of the `meta` tag: the HTML pages it serves from the docs
 * folder. Every other operation is answered by the core's handlers.
 */
export const docsHandlers = {
  getDocs: async () => ({
    status: 200,
    body: readReferencePage(),
    contentType: 'text/html; charset=utf-8',
  }),

  getRedoc: async () => ({
    status: 200,
    body: readReferencePage(),
    contentType: 'text/html; charset=utf-8',
  }),

  getErrorPage: async (c) => {
    const code = String(c.params.code ?? '');
    if (!isErrorCode(code)) throw new ApiError('NOT_FOUND', `No problem code is named ${code}.`);
    return { status: 200, body: renderErrorPage(code), contentType: 'text/html; charset=utf-8' };
  },
} satisfies Record<string, Handler>;
