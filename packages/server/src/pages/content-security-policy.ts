import { createHash } from 'node:crypto';

/** A CSP source expression for a text: `'sha256-<base64>'`. */
export function hashSource(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

/** What a page runs and styles inline, as a browser would hash it. */
export interface InlineContent {
  /** The text of each `<script>` element without `src`. */
  scripts: string[];
  /** The text of each `<style>` element. */
  styles: string[];
  /** The value of each `style="…"` attribute. */
  styleAttributes: string[];
}

const SCRIPT = /<script\b([^>]*)>([\s\S]*?)<\/script\s*>/gi;
const STYLE = /<style\b[^>]*>([\s\S]*?)<\/style\s*>/gi;
const STYLE_ATTRIBUTE = /<[a-z][^\s>]*\s[^>]*?\bstyle="([^"]*)"/gi;

function decodeAttribute(value: string): string {
  return value.replace(/&(#x[0-9a-f]+|#\d+|quot|amp|lt|gt|apos);/gi, (_, entity: string) => {
    const e = entity.toLowerCase();
    if (e.startsWith('#x')) return String.fromCodePoint(Number.parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(Number(e.slice(1)));
    return { quot: '"', amp: '&', lt: '<', gt: '>', apos: "'" }[e] ?? '';
  });
}

/**
 * The inline scripts and styles of a page that Latchkey serves (its own pages and the
 * reference page built by `pnpm docs:build`). A script ends at the first `</script>`, as an
 * HTML parser ends it; the docs test checks the result against a real HTML parser.
 */
export function inlineContent(html: string): InlineContent {
  const scripts: string[] = [];
  for (const match of html.matchAll(SCRIPT)) {
    if (!/\bsrc\s*=/i.test(match[1] ?? '')) scripts.push(match[2] ?? '');
  }
  const styles = [...html.matchAll(STYLE)].map((m) => m[1] ?? '');
  // Style attributes are looked for outside scripts and styles only.
  const markup = html.replace(SCRIPT, '<script>').replace(STYLE, '<style>');
  const styleAttributes = [...markup.matchAll(STYLE_ATTRIBUTE)].map((m) => decodeAttribute(m[1] ?? ''));
  return { scripts, styles, styleAttributes };
}

const unique = (items: string[]) => [...new Set(items)];

/**
 * A strict Content-Security-Policy for one page: nothing from other origins, inline scripts
 * and styles only by their hashes, no plugins, no framing, no forms, no base URL change.
 */
export function contentSecurityPolicy(html: string): string {
  const inline = inlineContent(html);
  const scripts = unique(inline.scripts.map(hashSource));
  const styles = unique([...inline.styles, ''].map(hashSource));
  const attributes = unique(inline.styleAttributes.map(hashSource));
  const styleSources = [...styles, ...(attributes.length ? ["'unsafe-hashes'", ...attributes] : [])];
  return [
    "default-src 'none'",
    `script-src ${scripts.length ? scripts.join(' ') : "'none'"}`,
    `style-src ${styleSources.length ? styleSources.join(' ') : "'none'"}`,
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}
