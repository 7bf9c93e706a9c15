// Hash routing: the page lives in the fragment (`/console#/keys/…?offset=50`), so the server
// serves one file, and reload, back and links all work without it knowing the pages.
import { useEffect, useState } from 'preact/hooks';

export interface Route {
  /** The path after `#`, for example `/keys/5d0f…`. */
  path: string;
  query: URLSearchParams;
}

export function currentRoute(): Route {
  const hash = globalThis.location.hash.replace(/^#/, '') || '/keys';
  const at = hash.indexOf('?');
  const path = at === -1 ? hash : hash.slice(0, at);
  return { path: path || '/keys', query: new URLSearchParams(at === -1 ? '' : hash.slice(at + 1)) };
}

/** The route now, re-rendering on every change of the fragment. */
export function useRoute(): Route {
  const [route, setRoute] = useState(currentRoute);
  useEffect(() => {
    const update = () => setRoute(currentRoute());
    globalThis.addEventListener('hashchange', update);
    return () => globalThis.removeEventListener('hashchange', update);
  }, []);
  return route;
}

/** A link target for a page, with its query (empty values left out). */
export function href(path: string, query: Record<string, string | number | undefined> = {}): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== '') params.set(name, String(value));
  }
  const search = params.toString();
  return `#${path}${search ? `?${search}` : ''}`;
}

/** Goes to a page, as a new history entry. */
export function navigate(path: string, query: Record<string, string | number | undefined> = {}): void {
  globalThis.location.hash = href(path, query);
}
