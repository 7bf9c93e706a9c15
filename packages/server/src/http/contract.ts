import { readFileSync } from 'node:fs';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { type Document, OpenAPIBackend } from 'openapi-backend';
import YAML from 'yaml';
import { REPOSITORY_ROOT } from '../paths.js';

/** Where the contract lives: the root of the repository. */
export const CONTRACT_URL = new URL('openapi.yaml', REPOSITORY_ROOT);

export function readContract(): Document {
  return YAML.parse(readFileSync(CONTRACT_URL, 'utf8')) as Document;
}

/**
 * openapi-backend as router and validator of the contract. Its own definition check
 * targets OpenAPI 3.0, so it is skipped (Redocly lints the document) and validation uses
 * an Ajv for JSON Schema 2020-12, the dialect of OpenAPI 3.1. `quick` dereferences the
 * document synchronously and compiles each operation's validators on its first request
 * instead of all at start: compiling every operation up front left about 25 MB more
 * resident memory for the life of the process, for operations most servers never see.
 */
export async function createContractBackend(document: Document): Promise<OpenAPIBackend> {
  const api = new OpenAPIBackend({
    definition: structuredClone(document),
    strict: false,
    quick: true,
    validate: true,
    coerceTypes: true,
    ajvOpts: { strict: false, allErrors: true },
    customizeAjv: (_ajv, opts) => {
      const ajv = new Ajv2020.default({ ...opts, strict: false, allErrors: true });
      addFormats.default(ajv);
      return ajv as never;
    },
  });
  api.validateDefinition = () => api.definition;
  await api.init();
  return api;
}
