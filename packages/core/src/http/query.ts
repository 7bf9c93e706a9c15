/**
 * A query string as the rules read it: each parameter once, as a list when it was given more
 * than once (a repeated `api_key` is a credential that cannot be used). Browser-safe.
 *
 * @example
 * ```ts
 * parseQuery('api_key=a&api_key=b&limit=10'); // { api_key: ['a', 'b'], limit: '10' }
 * ```
 */
export function parseQuery(search: string): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  if (!search) return query;
  const params = new URLSearchParams(search);
  for (const name of new Set(params.keys())) {
    const all = params.getAll(name);
    query[name] = all.length > 1 ? all : (all[0] ?? '');
  }
  return query;
}
