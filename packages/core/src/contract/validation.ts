import Ajv2020Module from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { FieldError } from '../api-error.js';
import { CONTRACT } from '../generated/contract.gen.js';
import { declaredResponse, type OperationSpec } from './operations.js';
import type { ContractDocument, JsonSchema } from './types.js';

// Request and response checks against the contract's JSON Schemas (2020-12, the dialect
// of OpenAPI 3.1), with Ajv. The server and the mock validate with this one class, so that
// both name the same fields at fault. Runs in Node and in browsers.

type AjvInstance = import('ajv/dist/2020.js').default;
type ValidateFunction = import('ajv').ValidateFunction;
type AjvErrorObject = import('ajv').ErrorObject;

const Ajv2020 = ((Ajv2020Module as unknown as { default?: unknown }).default ??
  Ajv2020Module) as unknown as new (
  opts: Record<string, unknown>,
) => AjvInstance;
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
  addFormatsModule) as unknown as (ajv: AjvInstance) => void;

const CONTRACT_ID = 'https://latchkey.invalid/openapi.json';

/** A schema whose local `$ref`s (`#/components/...`) point into the added contract instead. */
function absolutize(schema: unknown): JsonSchema {
  if (Array.isArray(schema)) return schema.map(absolutize) as unknown as JsonSchema;
  if (!schema || typeof schema !== 'object') return schema as JsonSchema;
  return Object.fromEntries(
    Object.entries(schema).map(([k, v]) => [
      k,
      k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? `${CONTRACT_ID}${v}` : absolutize(v),
    ]),
  );
}

function isEmpty(record: Record<string, unknown>): boolean {
  for (const _ in record) return false;
  return true;
}

function pointer(parts: string[]): string {
  return parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');
}

/** Names the fields at fault in Ajv errors: `body.name`, `query.limit`, `path.key_id`. */
export function fieldErrors(errors: AjvErrorObject[], root: string): FieldError[] {
  const out: FieldError[] = [];
  for (const e of errors) {
    if (e.keyword === 'if' || e.keyword === 'allOf') continue;
    const parts = e.instancePath.split('/').filter(Boolean);
    let path = [root, ...parts]
      .map((p, i) => (i > 0 && /^\d+$/.test(p) ? `[${p}]` : p))
      .join('.')
      .replace(/\.\[/g, '[');
    let message = e.message ?? 'is invalid';
    const params = e.params as Record<string, unknown>;
    if (e.keyword === 'required' && typeof params.missingProperty === 'string') {
      path = `${path}.${params.missingProperty}`;
      message = 'is required';
    } else if (e.keyword === 'additionalProperties' && typeof params.additionalProperty === 'string') {
      path = `${path}.${params.additionalProperty}`;
      message = 'is not an accepted field';
    }
    if (!out.some((o) => o.field === path && o.message === message)) out.push({ field: path, message });
  }
  return out;
}

/** Compiled validators for one contract document, built lazily and kept. */
export class ContractValidator {
  private readonly strictAjv: AjvInstance;
  private readonly coercingAjv: AjvInstance;
  private readonly cache = new Map<string, ValidateFunction>();

  constructor(readonly document: ContractDocument = CONTRACT) {
    const make = (coerceTypes: boolean) => {
      const ajv = new Ajv2020({
        strict: false,
        allErrors: true,
        validateSchema: false,
        // 'array' also takes one query value for a list parameter (?permission=a).
        coerceTypes: coerceTypes ? 'array' : false,
      });
      addFormats(ajv);
      ajv.addSchema({ ...structuredClone(document), $id: CONTRACT_ID } as JsonSchema);
      return ajv;
    };
    this.strictAjv = make(false);
    this.coercingAjv = make(true);
  }

  /** The validator kept under `key`; `schema` is built only the first time. */
  private compile(key: string, schema: () => JsonSchema, coerce = false): ValidateFunction {
    const cacheKey = `${coerce ? 'c' : 's'}:${key}`;
    let fn = this.cache.get(cacheKey);
    if (!fn) {
      fn = (coerce ? this.coercingAjv : this.strictAjv).compile(schema());
      this.cache.set(cacheKey, fn);
    }
    return fn;
  }

  private ref(parts: string[]): JsonSchema {
    return { $ref: `${CONTRACT_ID}#/${pointer(parts)}` };
  }

  /**
   * Checks path and query parameters (coercing strings to the declared types, as the server
   * does) and the JSON body. Returns the coerced values, or the fields at fault.
   */
  validateRequest(
    spec: OperationSpec,
    input: { params: Record<string, string>; query: Record<string, string | string[]>; body: unknown },
  ):
    | { ok: true; params: Record<string, unknown>; query: Record<string, unknown> }
    | { ok: false; errors: FieldError[] } {
    // Nothing to check: the hot path of operations without parameters or body.
    if (!spec.parameters.length && !spec.operation.requestBody && isEmpty(input.query)) {
      return { ok: true, params: input.params, query: input.query };
    }
    const errors: FieldError[] = [];
    const coerced: Record<'path' | 'query', Record<string, unknown>> = { path: {}, query: {} };
    for (const where of ['path', 'query'] as const) {
      const given = where === 'path' ? input.params : input.query;
      // Nothing given where nothing is declared (a POST with a body only): nothing to check.
      if (isEmpty(given) && !spec.parameters.some((p) => p.in === where)) continue;
      const data: Record<string, unknown> = { ...given };
      const fn = this.compile(
        `${spec.operationId}:${where}`,
        () => {
          const declared = spec.parameters.filter((p) => p.in === where);
          return {
            type: 'object',
            properties: Object.fromEntries(declared.map((p) => [p.name, absolutize(p.schema ?? {})])),
            required: declared.filter((p) => p.required).map((p) => p.name),
            additionalProperties: false,
          };
        },
        true,
      );
      if (!fn(data)) errors.push(...fieldErrors(fn.errors ?? [], where));
      coerced[where] = data;
    }
    const body = spec.operation.requestBody;
    if (body) {
      if (input.body === undefined) {
        if (body.required) errors.push({ field: 'body', message: 'is required' });
      } else {
        const media = Object.keys(body.content)[0] ?? 'application/json';
        const fn = this.compile(`${spec.operationId}:body`, () =>
          this.ref(['paths', spec.path, spec.method, 'requestBody', 'content', media, 'schema']),
        );
        if (!fn(input.body)) errors.push(...fieldErrors(fn.errors ?? [], 'body'));
      }
    }
    if (errors.length) return { ok: false, errors };
    return { ok: true, params: coerced.path, query: coerced.query };
  }

  /**
   * Checks the body of an outbound webhook event against its schema in the contract's
   * `webhooks` section. Returns what is wrong; empty when it conforms (or names the event
   * type the contract does not have).
   */
  checkWebhookPayload(type: string, body: unknown): string[] {
    const declared = (this.document as { webhooks?: Record<string, unknown> }).webhooks ?? {};
    if (!Object.hasOwn(declared, type)) return [`${type}: not an event of the contract's webhooks`];
    const fn = this.compile(`webhook:${type}`, () =>
      this.ref(['webhooks', type, 'post', 'requestBody', 'content', 'application/json', 'schema']),
    );
    return fn(body) ? [] : [`${type}: body ${JSON.stringify(fieldErrors(fn.errors ?? [], 'body'))}`];
  }

  /**
   * Checks one response against the contract: the status is declared, the media type and
   * body match the declared content, and every declared header is present when required
   * and matches its schema. Returns what is wrong; empty when the response conforms.
   */
  checkResponse(
    spec: OperationSpec,
    response: { status: number; headers: Headers; body: unknown; contentType: string | null },
  ): string[] {
    const problems: string[] = [];
    const declared = declaredResponse(spec, response.status, this.document);
    if (!declared) {
      return [
        `${spec.operationId}: status ${response.status} is not declared (declared: ${Object.keys(spec.operation.responses).join(', ')})`,
      ];
    }
    const where = `${spec.operationId} ${response.status}`;
    const content = declared.content;
    if (!content) {
      if (response.body !== undefined && response.body !== '')
        problems.push(`${where}: declares no body, but one was sent`);
    } else {
      const base = (m: string | null) => (m ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
      const type = base(response.contentType);
      const media = Object.keys(content).find((m) => base(m) === type);
      if (!media) {
        problems.push(
          `${where}: content type ${type || '(none)'} is not one of ${Object.keys(content).join(', ')}`,
        );
      } else {
        const raw = spec.operation.responses[String(response.status)];
        const parts = raw?.$ref
          ? [...raw.$ref.replace(/^#\//, '').split('/'), 'content', media, 'schema']
          : [
              'paths',
              spec.path,
              spec.method,
              'responses',
              String(response.status),
              'content',
              media,
              'schema',
            ];
        const fn = this.compile(`${spec.operationId}:${response.status}:${media}`, () => this.ref(parts));
        if (!fn(response.body)) {
          problems.push(`${where}: body ${JSON.stringify(fieldErrors(fn.errors ?? [], 'body'))}`);
        }
      }
    }
    for (const [name, header] of Object.entries(declared.headers ?? {})) {
      const value = response.headers.get(name);
      if (value === null) {
        if (header.required) problems.push(`${where}: header ${name} is required but missing`);
        continue;
      }
      if (!header.schema) continue;
      const fn = this.compile(
        `header:${spec.operationId}:${response.status}:${name}`,
        () => ({ type: 'object', properties: { value: absolutize(header.schema ?? {}) } }),
        true,
      );
      if (!fn({ value })) {
        problems.push(`${where}: header ${name}=${value} ${fn.errors?.[0]?.message ?? 'does not match'}`);
      }
    }
    return problems;
  }
}
