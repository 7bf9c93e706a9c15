import { createHash } from 'node:crypto';
import { type DefaultTreeAdapterMap, parse } from 'parse5';

type Node = DefaultTreeAdapterMap['node'];
type Element = DefaultTreeAdapterMap['element'];

/** What a browser would run, style and fetch on its own when it loads a page, read by a real HTML parser. */
export interface PageFacts {
  /** Inline `<script>` texts (no src). */
  scripts: string[];
  /** `<style>` texts. */
  styles: string[];
  /** `style="…"` values. */
  styleAttributes: string[];
  /** `on…=` event handler attributes, as `tag onname`. */
  handlers: string[];
  /** URLs the page loads by itself: script src, stylesheet and icon links, images, frames, media, CSS url() and @import. */
  loads: string[];
  /** Element names, to check that the page has its content. */
  elements: Element[];
}

const LOADING_LINKS = /\b(stylesheet|icon|preload|modulepreload|prefetch|manifest|apple-touch-icon)\b/i;

function cssUrls(css: string): string[] {
  return [
    ...[...css.matchAll(/url\(\s*(['"]?)([^'")]*)\1\s*\)/gi)].map((m) => m[2] ?? ''),
    ...[...css.matchAll(/@import\s+(['"])([^'"]+)\1/gi)].map((m) => m[2] ?? ''),
  ];
}

function textOf(element: Element): string {
  return element.childNodes.map((n) => ('value' in n && n.nodeName === '#text' ? n.value : '')).join('');
}

export function readPage(html: string): PageFacts {
  const facts: PageFacts = {
    scripts: [],
    styles: [],
    styleAttributes: [],
    handlers: [],
    loads: [],
    elements: [],
  };
  const visit = (node: Node) => {
    if ('tagName' in node) {
      const element = node as Element;
      facts.elements.push(element);
      const attr = (name: string) => element.attrs.find((a) => a.name === name)?.value;
      for (const a of element.attrs) {
        if (/^on/i.test(a.name)) facts.handlers.push(`${element.tagName} ${a.name}`);
        if (a.name === 'style') {
          facts.styleAttributes.push(a.value);
          facts.loads.push(...cssUrls(a.value));
        }
      }
      const tag = element.tagName;
      if (tag === 'script') {
        const src = attr('src');
        if (src !== undefined) facts.loads.push(src);
        else facts.scripts.push(textOf(element));
      }
      if (tag === 'style') {
        facts.styles.push(textOf(element));
        facts.loads.push(...cssUrls(textOf(element)));
      }
      if (tag === 'link' && LOADING_LINKS.test(attr('rel') ?? '')) facts.loads.push(attr('href') ?? '');
      if (['img', 'iframe', 'embed', 'source', 'video', 'audio', 'track', 'input', 'frame'].includes(tag)) {
        const src = attr('src');
        if (src) facts.loads.push(src);
      }
      for (const name of ['srcset', 'imagesrcset']) {
        const set = attr(name);
        if (set) facts.loads.push(...set.split(',').map((c) => c.trim().split(/\s+/)[0] ?? ''));
      }
      if (tag === 'object' && attr('data')) facts.loads.push(attr('data') ?? '');
      if (tag === 'video' && attr('poster')) facts.loads.push(attr('poster') ?? '');
    }
    const children = 'content' in node && node.content ? node.content.childNodes : [];
    for (const child of [...('childNodes' in node ? node.childNodes : []), ...children]) visit(child);
  };
  visit(parse(html));
  return facts;
}

/** A CSP header as a map from directive to its sources. */
export function parseCsp(header: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const part of header.split(';')) {
    const [name, ...sources] = part.trim().split(/\s+/);
    if (name) out.set(name.toLowerCase(), sources);
  }
  return out;
}

export const sha256Source = (text: string) =>
  `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

/** Whether a URL leaves the page's own origin (absolute with a scheme that fetches, or protocol-relative). */
export const isOutside = (url: string) => /^\s*(https?:)?\/\//i.test(url);
