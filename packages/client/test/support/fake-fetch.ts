/** One request as the fake server saw it. */
export interface SeenRequest {
  method: string;
  url: URL;
  headers: Headers;
  body: string;
  credentials: RequestCredentials;
}

export type FakeHandler = (request: SeenRequest) => Response | Promise<Response>;

/**
 * A fetch that answers from `handler` and records every request, for unit tests that
 * must see exactly what the client sends.
 */
export function fakeFetch(handler: FakeHandler = () => json(200, {})) {
  const seen: SeenRequest[] = [];
  const fetch: typeof globalThis.fetch = async (input, init) => {
    const request = new Request(input, init);
    // As a real fetch does: an aborted request is never sent.
    if (request.signal.aborted) throw request.signal.reason;
    const entry: SeenRequest = {
      method: request.method,
      url: new URL(request.url),
      headers: new Headers(request.headers),
      body: await request.text(),
      credentials: request.credentials,
    };
    seen.push(entry);
    return handler(entry);
  };
  return { fetch, seen };
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(status === 204 ? null : JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json', ...headers },
  });
}

export function problem(
  status: number,
  code: string,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Response {
  return new Response(
    JSON.stringify({ type: `/docs/errors/${code}`, title: code.toLowerCase(), status, code, ...extra }),
    { status, headers: { 'Content-Type': 'application/problem+json', ...headers } },
  );
}

/** The credential-bearing parts of a request: the headers any scheme uses, and `api_key`. */
export function credentialsSent(request: SeenRequest): Record<string, string> {
  const found: Record<string, string> = {};
  for (const name of ['authorization', 'x-api-key', 'x-csrf-token', 'cookie']) {
    const value = request.headers.get(name);
    if (value !== null) found[name] = value;
  }
  const query = request.url.searchParams.get('api_key');
  if (query !== null) found['?api_key'] = query;
  return found;
}
