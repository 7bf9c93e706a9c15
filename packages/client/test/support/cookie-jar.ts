/**
 * A fetch that keeps cookies the way a browser does for a cross-origin app: it stores
 * Set-Cookie answers and sends the cookies back only on requests made with
 * `credentials: 'include'`. Node's fetch keeps no cookies, so the `{ session: true }`
 * tests use this in place of a browser.
 */
export function cookieJarFetch(): { fetch: typeof globalThis.fetch; cookies: Map<string, string> } {
  const cookies = new Map<string, string>();
  const jarFetch: typeof globalThis.fetch = async (input, init) => {
    const request = new Request(input, init);
    const headers = new Headers(request.headers);
    if (request.credentials === 'include' && cookies.size > 0) {
      headers.set('Cookie', [...cookies].map(([name, value]) => `${name}=${value}`).join('; '));
    }
    const response = await fetch(new Request(request, { headers }));
    if (request.credentials === 'include') {
      for (const line of response.headers.getSetCookie()) {
        const [pair = '', ...attributes] = line.split(';');
        const at = pair.indexOf('=');
        const name = pair.slice(0, at).trim();
        const value = pair.slice(at + 1).trim();
        const expired = attributes.some((a) => {
          const [key = '', raw = ''] = a.split('=');
          const attribute = key.trim().toLowerCase();
          if (attribute === 'max-age') return Number(raw) <= 0;
          if (attribute === 'expires') return Date.parse(raw) <= Date.now();
          return false;
        });
        if (expired || value === '') cookies.delete(name);
        else cookies.set(name, value);
      }
    }
    return response;
  };
  return { fetch: jarFetch, cookies };
}
