import { type CredentialSource, parseQuery } from '@latchkey/core/credentials';

/**
 * The parts of a Node `IncomingMessage` the guard reads (Node's own, Express's `req`, Koa's
 * `ctx.req`, Fastify's `request.raw`), typed by shape so that the package needs no Node types.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * createServer(async (req, res) => {
 *   const incoming: NodeRequestLike = req;
 * });
 * ```
 */
export interface NodeRequestLike {
  method?: string | undefined;
  /** The path and query, as Node gives it. */
  url?: string | undefined;
  headers: Record<string, string | string[] | undefined>;
  /** Every value of every header (Node 18.3+): Node keeps only the first of repeated Authorization headers in `headers`. */
  headersDistinct?: Record<string, string[] | undefined>;
  socket?: { remoteAddress?: string | undefined } | null;
}

/** A request the guard can check: a Fetch `Request` or a Node `IncomingMessage`. */
export type GuardRequest = Request | NodeRequestLike;

/** What the guard needs of a request, whatever its kind. */
export interface RequestFacts {
  method: string;
  source: CredentialSource;
  /** The peer's address, when the request knows it (a Fetch Request does not). */
  remoteAddress: string | undefined;
  /** A header by lower-case name; repeated ones joined by ", ". */
  header(name: string): string | undefined;
}

function isFetchRequest(request: GuardRequest): request is Request {
  return typeof (request as Request).headers?.get === 'function';
}

function searchOf(url: string): string {
  const at = url.indexOf('?');
  if (at < 0) return '';
  const hash = url.indexOf('#', at);
  return url.slice(at + 1, hash < 0 ? undefined : hash);
}

/**
 * Reads a Fetch Request or a Node IncomingMessage the way Latchkey reads its own requests:
 * repeated headers joined with ", " (so that two credentials are seen as two), the query
 * string parsed with each repeated parameter kept as a list. Cookies are not read: the guard
 * verifies keys, and a login cookie is not one.
 *
 * @example
 * ```ts
 * const facts = readRequest(new Request('http://svc.test/x?api_key=k'));
 * facts.source.queryParam('api_key'); // 'k'
 * ```
 */
export function readRequest(request: GuardRequest): RequestFacts {
  let header: (name: string) => string | undefined;
  let url: string;
  let remoteAddress: string | undefined;
  if (isFetchRequest(request)) {
    header = (name) => request.headers.get(name) ?? undefined;
    url = request.url;
  } else {
    const distinct = request.headersDistinct;
    header = (name) => {
      const all = distinct?.[name];
      if (all) return all.join(', ');
      const value = request.headers[name];
      return Array.isArray(value) ? value.join(', ') : value;
    };
    url = request.url ?? '/';
    remoteAddress = request.socket?.remoteAddress;
  }
  const query = parseQuery(searchOf(url));
  return {
    method: (request.method ?? 'GET').toUpperCase(),
    remoteAddress,
    header,
    source: { header, queryParam: (name) => query[name], cookie: () => undefined },
  };
}
