import { ApiError, ERROR_CODES, type ErrorCode, MIN_SUPPLIED_KEY_LENGTH } from '@latchkey/core';
import YAML from 'yaml';
import { listOperations } from '../contract/operations.js';
import { MAX_GRACE_SECONDS, MAX_PAGE_SIZE } from '../store/config.js';
import type { MockContext, MockHandler } from './context.js';

const AUTH_METHODS = [
  'HeaderTokenAuth',
  'BearerTokenAuth',
  'JwtAuth',
  'TokenAuth',
  'QueryParamTokenAuth',
  'BasicAuth',
  'SessionAuth',
];

const HTML = 'text/html; charset=utf-8';

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/** A self-contained reference page listing every operation of the contract (no network, no scripts). */
function referencePage(c: MockContext): string {
  const rows = listOperations(c.document)
    .map((op) => {
      const summary = (op.operation as { summary?: string }).summary ?? '';
      return `<tr><td><code>${op.method.toUpperCase()}</code></td><td><code>${escapeHtml(op.path)}</code></td><td>${escapeHtml(op.operationId)}</td><td>${escapeHtml(summary)}</td></tr>`;
    })
    .join('\n');
  const title = `${escapeHtml(c.document.info.title)} reference (mock)`;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${title}</title></head>
<body><main><h1>${title}</h1>
<p>Served by @latchkey/mock. The contract itself is at <a href="/openapi.json">/openapi.json</a> and <a href="/openapi.yaml">/openapi.yaml</a>.</p>
<table><thead><tr><th>method</th><th>path</th><th>operationId</th><th>summary</th></tr></thead>
<tbody>
${rows}
</tbody></table></main></body></html>
`;
}

function errorPage(code: ErrorCode): string {
  const { status, title } = ERROR_CODES[code];
  const heading = `${code}: ${escapeHtml(title)}`;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${heading}</title></head>
<body><main><h1>${heading}</h1>
<p>Answered with HTTP status ${status} and an <code>application/problem+json</code> body whose <code>code</code> is <code>${code}</code>.</p>
</main></body></html>
`;
}

/** Handlers of the `meta` tag: exempt from authentication. */
export const metaHandlers = {
  getRoot: (c) => ({
    status: 200,
    body: {
      name: 'Latchkey',
      version: c.store.config.version,
      links: {
        health: '/health',
        meta: '/meta',
        openapi_json: '/openapi.json',
        openapi_yaml: '/openapi.yaml',
      },
    },
  }),

  getHealth: () => ({
    status: 200,
    headers: { 'Cache-Control': 'no-store' },
    body: { status: 'ok', database: 'ok' },
  }),

  // The server's default (LATCHKEY_METRICS=off): the mock keeps no metrics.
  getMetrics: () => {
    throw new ApiError('NOT_FOUND', 'Nothing is at GET /metrics: metrics are off (see LATCHKEY_METRICS).');
  },

  getMeta: (c) => ({
    status: 200,
    body: {
      name: 'Latchkey',
      version: c.store.config.version,
      auth_methods: AUTH_METHODS,
      api_key_headers: c.store.config.apiKeyHeaders,
      key_prefix: c.store.config.keyPrefix,
      superuser_only: c.store.config.superuserOnly,
      limits: {
        max_page_size: MAX_PAGE_SIZE,
        max_body_bytes: c.store.config.maxBodyBytes,
        max_rotation_grace_seconds: MAX_GRACE_SECONDS,
        min_supplied_key_length: MIN_SUPPLIED_KEY_LENGTH,
      },
    },
  }),

  getOpenApiJson: (c) => ({ status: 200, body: c.document }),

  getOpenApiYaml: (c) => ({
    status: 200,
    body: YAML.stringify(c.document),
    contentType: 'application/yaml; charset=utf-8',
  }),

  getDocs: (c) => ({ status: 200, body: referencePage(c), contentType: HTML }),

  getRedoc: (c) => ({ status: 200, body: referencePage(c), contentType: HTML }),

  getErrorPage: (c) => {
    const code = String(c.params.code);
    if (!(code in ERROR_CODES)) {
      throw new ApiError('NOT_FOUND', `No page for the problem code ${code}.`);
    }
    return { status: 200, body: errorPage(code as ErrorCode), contentType: HTML };
  },
} satisfies Record<string, MockHandler>;
