function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/** What each link of the root page leads to. */
const LINK_TEXT: Record<string, string> = {
  docs: 'API reference',
  health: 'Health check',
  meta: 'Service metadata: authentication methods and limits',
  openapi_json: 'The contract (OpenAPI, JSON)',
  openapi_yaml: 'The contract (OpenAPI, YAML)',
};

/** `GET /` for a browser: the service's name and version and links to its pages, no script. */
export function renderRootPage(name: string, version: string, links: Record<string, string>): string {
  const items = Object.entries(links)
    .map(
      ([id, href]) =>
        `<li><a href="${escapeHtml(href)}">${escapeHtml(LINK_TEXT[id] ?? id)}</a> <code>${escapeHtml(href)}</code></li>`,
    )
    .join('\n');
  const title = `${escapeHtml(name)} ${escapeHtml(version)}`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>
body { font-family: system-ui, sans-serif; line-height: 1.5; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; color: #1b1b1b; }
code { font-size: 0.95em; color: #555; }
</style>
</head>
<body>
<main>
<h1>${title}</h1>
<p>Issues, verifies and governs API credentials. API clients get this page as JSON (<code>Accept: application/json</code>).</p>
<ul>
${items}
</ul>
</main>
</body>
</html>
`;
}
