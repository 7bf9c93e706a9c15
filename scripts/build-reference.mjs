// pnpm docs:build: builds the API reference (docs/reference.html by default) from openapi.yaml
// with Redocly, self-contained, then removes what the page would fetch from other hosts, so
// that it works on a closed network and under the server's Content-Security-Policy.
//
// Redoc's bundle names three hosts that a browser would contact on its own:
// - cdn.redoc.ly: the Redocly logo of the "API docs by" footer (an <img> made by script);
// - cdn.redocly.com: the base of icon images (CSS mask images) for icon extensions;
// - otel.cloud.redocly.com: the telemetry collector (telemetry is off in the built page too).
// Each string literal that starts with one of them becomes `data:,`: an image that fails to
// load (the footer then shows no logo), and a URL no request leaves the page for.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const output = path.resolve(ROOT, process.argv[2] ?? 'docs/reference.html');
const FETCHED_HOSTS = ['cdn.redoc.ly', 'cdn.redocly.com', 'otel.cloud.redocly.com'];

const redocly = path.join(ROOT, 'node_modules', '.bin', 'redocly');
const built = spawnSync(
  redocly,
  ['build-docs', 'openapi.yaml', '--inlineBundle', '--title', 'Latchkey API reference', '-o', output],
  { cwd: ROOT, env: { ...process.env, REDOCLY_TELEMETRY: 'off' }, stdio: ['ignore', 'inherit', 'inherit'] },
);
if (built.status !== 0) process.exit(built.status ?? 1);

let page = readFileSync(output, 'utf8');
if (!page.includes('"disableTelemetry":true')) {
  console.error(`${output}: the page was built with telemetry on; build it with REDOCLY_TELEMETRY=off`);
  process.exit(1);
}
const hosts = FETCHED_HOSTS.map((h) => h.replaceAll('.', '\\.')).join('|');
const literal = new RegExp(`(["'\`])https?://(?:${hosts})(?:/[^"'\`\\s]*)?\\1`, 'g');
let replaced = 0;
page = page.replace(literal, (_, quote) => {
  replaced++;
  return `${quote}data:,${quote}`;
});
const left = page.match(new RegExp(`https?://(?:${hosts})[^"'\`\\s)]*`, 'g'));
if (left) {
  console.error(`${output}: outside URLs left that a browser would load: ${[...new Set(left)].join(', ')}`);
  process.exit(1);
}
writeFileSync(output, page);
console.log(
  `${path.relative(ROOT, output)}: ${replaced} outside URLs removed; the page loads nothing from other hosts`,
);
