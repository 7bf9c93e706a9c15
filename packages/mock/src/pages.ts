import {
  ApiError,
  type ContractDocument,
  ERROR_CODES,
  type ErrorCode,
  type Handler,
  listOperations,
} from '@latchkey/core';

// The mock's own HTML pages (the server serves its built reference and docs instead):
// self-contained, no network, no scripts.

const HTML = 'text/html; charset=utf-8';

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/** A page listing every operation of the contract. */
function referencePage(document: ContractDocument): string {
  const rows = listOperations(document)
    .map((op) => {
      const summary = (op.operation as { summary?: string }).summary ?? '';
      return `<tr><td><code>${op.method.toUpperCase()}</code></td><td><code>${escapeHtml(op.path)}</code></td><td>${escapeHtml(op.operationId)}</td><td>${escapeHtml(summary)}</td></tr>`;
    })
    .join('\n');
  const title = `${escapeHtml(document.info.title)} reference (mock)`;
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

/** The mock's handlers of the pages of the `meta` tag (metrics are the server's own). */
export const pageHandlers = {
  getMetrics: async () => {
    throw new ApiError('NOT_FOUND', 'Nothing is at GET /metrics: the mock keeps no metrics.');
  },
  getDocs: async (c) => ({ status: 200, body: referencePage(c.document), contentType: HTML }),
  getRedoc: async (c) => ({ status: 200, body: referencePage(c.document), contentType: HTML }),
  getErrorPage: async (c) => {
    const code = String(c.params.code);
    if (!Object.hasOwn(ERROR_CODES, code))
      throw new ApiError('NOT_FOUND', `No problem code is named ${code}.`);
    return { status: 200, body: errorPage(code as ErrorCode), contentType: HTML };
  },
} satisfies Record<string, Handler>;
