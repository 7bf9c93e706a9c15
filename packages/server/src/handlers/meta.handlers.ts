import { readFileSync } from 'node:fs';
import { ApiError, ERROR_CODES, type ErrorCode, MIN_SUPPLIED_KEY_LENGTH } from '@latchkey/core';
import { Marked, type Tokens } from 'marked';
import YAML from 'yaml';
import { AUTH_METHODS, type AuthMethod } from '../auth/credential.js';
import type { AuthMethodSwitch } from '../config/config.js';
import { MAX_GRACE_SECONDS } from '../keys/key.service.js';
import { authorizeScrape } from '../metrics/metrics.endpoint.js';
import { renderRootPage } from '../pages/root-page.js';
import { REPOSITORY_ROOT } from '../paths.js';
import { VERSION } from '../version.js';
import type { Handler, HandlerContext } from './handler.js';

export const MAX_PAGE_SIZE = 200;

const SWITCH_OF: Record<AuthMethod, AuthMethodSwitch> = {
  HeaderTokenAuth: 'header',
  BearerTokenAuth: 'bearer',
  JwtAuth: 'bearer',
  TokenAuth: 'token',
  QueryParamTokenAuth: 'query',
  BasicAuth: 'basic',
  SessionAuth: 'session',
};

function enabledMethods(c: HandlerContext): AuthMethod[] {
  return AUTH_METHODS.filter((m) => c.config.authMethods.includes(SWITCH_OF[m]));
}

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

/** Handlers of the `meta` tag: exempt from authentication. */
export const metaHandlers = {
  getRoot: async (c) => {
    const links = {
      docs: '/docs',
      health: '/health',
      meta: '/meta',
      openapi_json: '/openapi.json',
      openapi_yaml: '/openapi.yaml',
    };
    // A browser (which asks for text/html first) gets a page of links; API clients get JSON.
    if (c.koa.accepts('application/json', 'text/html') === 'text/html') {
      const body = renderRootPage('Latchkey', VERSION, links);
      return { status: 200, body, contentType: 'text/html; charset=utf-8', headers: { Vary: 'Accept' } };
    }
    return { status: 200, body: { name: 'Latchkey', version: VERSION, links }, headers: { Vary: 'Accept' } };
  },

  getHealth: async (c) => {
    const up = await c.services.storage.ping();
    return {
      status: up ? 200 : 503,
      body: { status: up ? 'ok' : 'unavailable', database: up ? 'ok' : 'unreachable' },
      headers: { 'Cache-Control': 'no-store' },
    };
  },

  getMetrics: async (c) => {
    authorizeScrape(c.config.metrics, c.koa.get('authorization') || undefined);
    const { contentType, text } = await c.services.metrics.render();
    return { status: 200, body: text, contentType, headers: { 'Cache-Control': 'no-store' } };
  },

  getMeta: async (c) => ({
    status: 200,
    body: {
      name: 'Latchkey',
      version: VERSION,
      auth_methods: enabledMethods(c),
      api_key_headers: c.config.authMethods.includes('header') ? c.config.apiKeyHeaders : [],
      key_prefix: c.config.keyPrefix,
      superuser_only: c.config.superuserOnly,
      limits: {
        max_page_size: MAX_PAGE_SIZE,
        max_body_bytes: c.config.maxBodyBytes,
        max_rotation_grace_seconds: MAX_GRACE_SECONDS,
        min_supplied_key_length: MIN_SUPPLIED_KEY_LENGTH,
      },
    },
  }),

  getOpenApiJson: async (c) => ({ status: 200, body: c.services.document }),

  getOpenApiYaml: async (c) => ({
    status: 200,
    body: YAML.stringify(c.services.document),
    contentType: 'application/yaml; charset=utf-8',
  }),

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
    const code = c.params.code ?? '';
    if (!isErrorCode(code)) throw new ApiError('NOT_FOUND', `No problem code is named ${code}.`);
    return { status: 200, body: renderErrorPage(code), contentType: 'text/html; charset=utf-8' };
  },
} satisfies Record<string, Handler>;
