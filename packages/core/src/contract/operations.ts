import { CONTRACT } from '../generated/contract.gen.js';
import type {
  ContractDocument,
  ContractOperation,
  ContractParameter,
  ContractResponse,
  HttpMethod,
} from './types.js';

export const HTTP_METHODS: readonly HttpMethod[] = [
  'get',
  'put',
  'post',
  'patch',
  'delete',
  'head',
  'options',
];

/** One operation of the contract, with what the mock needs to route and check it. */
export interface OperationSpec {
  operationId: string;
  method: HttpMethod;
  /** The path template, `/api/v1/keys/{key_id}`. */
  path: string;
  /** True when the operation needs a credential (its own or the document's security is not empty, and has no `{}`). */
  authenticates: boolean;
  /**
   * The permission a restricted key needs for this operation: the scope its security
   * requirements name (one per operation), or undefined when they name none.
   */
  permission: string | undefined;
  parameters: ContractParameter[];
  operation: ContractOperation;
}

function deref<T extends { $ref?: string }>(doc: ContractDocument, value: T): T {
  if (!value.$ref) return value;
  const parts = value.$ref.replace(/^#\//, '').split('/');
  let node: unknown = doc;
  for (const part of parts) node = (node as Record<string, unknown>)[part];
  return deref(doc, node as T);
}

/** Every operation of a contract document, in document order. */
export function listOperations(doc: ContractDocument = CONTRACT): OperationSpec[] {
  const out: OperationSpec[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of HTTP_METHODS) {
      const operation = item[method];
      if (!operation) continue;
      const parameters = [...(item.parameters ?? []), ...(operation.parameters ?? [])].map((p) =>
        deref(doc, p),
      );
      const security = operation.security ?? doc.security ?? [];
      out.push({
        operationId: operation.operationId,
        method,
        path,
        // An empty requirement `{}` lets the operation run without a user's credential (GET /metrics).
        authenticates: security.length > 0 && !security.some((r) => Object.keys(r).length === 0),
        permission: security.flatMap((r) => Object.values(r).flat())[0],
        parameters,
        operation,
      });
    }
  }
  return out;
}

/** The response the contract declares for an operation and status, `$ref`s resolved. */
export function declaredResponse(
  spec: OperationSpec,
  status: number,
  doc: ContractDocument = CONTRACT,
): ContractResponse | undefined {
  const response = spec.operation.responses[String(status)];
  if (!response) return undefined;
  const resolved = deref(doc, response);
  const headers = Object.fromEntries(
    Object.entries(resolved.headers ?? {}).map(([name, header]) => [name, deref(doc, header)]),
  );
  return { ...resolved, headers };
}

/** A matcher for one path template: the path parameters when `pathname` fits it. */
export function pathMatcher(template: string): (pathname: string) => Record<string, string> | undefined {
  const names: string[] = [];
  const source = template
    .split('/')
    .map((segment) =>
      segment.replace(/\{([^}]+)\}|[^{}]+/g, (whole, name: string | undefined) => {
        if (name === undefined) return whole.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
        names.push(name);
        return '([^/]+)';
      }),
    )
    .join('/');
  const regex = new RegExp(`^${source}$`);
  return (pathname) => {
    const found = regex.exec(pathname);
    if (!found) return undefined;
    const params: Record<string, string> = {};
    try {
      names.forEach((name, i) => {
        params[name] = decodeURIComponent(found[i + 1] ?? '');
      });
    } catch {
      // A malformed %-escape names nothing.
      return undefined;
    }
    return params;
  };
}

/** The msw path of a template: `/api/v1/keys/{key_id}` → `/api/v1/keys/:key_id`. */
export function mswPath(template: string): string {
  return template.replace(/\{([^}]+)\}/g, ':$1');
}

/** The methods of a path as an Allow header lists them: upper case, HEAD with GET. */
function allowHeader(methods: string[]): string[] {
  const upper = new Set(methods.map((m) => m.toUpperCase()));
  if (upper.has('GET')) upper.add('HEAD');
  return [...upper];
}

/** What routing a request found: an operation and its path parameters, or why not. */
export type RouteMatch =
  | { found: true; spec: OperationSpec; params: Record<string, string> }
  | { found: false; pathExists: boolean; allowed: string[] };

/**
 * Routes requests to the operations of a contract. Paths without parameters are found in a
 * map (the hot path); the others by their templates, in document order.
 */
export class ContractRouter {
  readonly operations: OperationSpec[];
  private readonly byStaticPath = new Map<string, Map<string, OperationSpec>>();
  private readonly templated: {
    spec: OperationSpec;
    match: (pathname: string) => Record<string, string> | undefined;
  }[] = [];

  constructor(readonly document: ContractDocument = CONTRACT) {
    this.operations = listOperations(document);
    for (const spec of this.operations) {
      if (spec.path.includes('{')) {
        this.templated.push({ spec, match: pathMatcher(spec.path) });
      } else {
        const methods = this.byStaticPath.get(spec.path) ?? new Map<string, OperationSpec>();
        methods.set(spec.method, spec);
        this.byStaticPath.set(spec.path, methods);
      }
    }
  }

  /** The operation at `method` (HEAD is answered as GET) and `pathname`. */
  match(method: string, pathname: string): RouteMatch {
    const verb = method === 'HEAD' ? 'get' : method.toLowerCase();
    const staticPath = this.byStaticPath.get(pathname);
    if (staticPath) {
      const spec = staticPath.get(verb);
      return spec
        ? { found: true, spec, params: {} }
        : { found: false, pathExists: true, allowed: allowHeader([...staticPath.keys()]) };
    }
    const methods: string[] = [];
    for (const { spec, match } of this.templated) {
      const params = match(pathname);
      if (!params) continue;
      if (spec.method === verb) return { found: true, spec, params };
      methods.push(spec.method);
    }
    return { found: false, pathExists: methods.length > 0, allowed: allowHeader(methods) };
  }
}
