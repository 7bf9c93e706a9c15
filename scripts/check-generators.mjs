// Part of `pnpm check`: generates clients from openapi.yaml with two generators that other
// projects use, and fails when either reads the contract wrong:
// - swagger-typescript-api: every operation with a JSON success body parses it as JSON
//   (`format: "json"`; without it the generated client hands back `null`, which happened to
//   responses that $ref into components/responses), and every JSON request body is sent as
//   JSON (`type: ContentType.Json`, lost for bodies that $ref into components/requestBodies).
//   Text bodies (the HTML pages, YAML, metrics) are not checked: its default template parses
//   only JSON, images and forms, whatever the document says; pass `format: "text"` for those.
// - openapi-typescript: in every schema of components/schemas, exactly the properties the
//   contract lists as `required` come out required (a `default` made a property required
//   through its defaultNonNullable option).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import openapiTS, { astToString } from 'openapi-typescript';
import { generateApi } from 'swagger-typescript-api';
import ts from 'typescript';
import YAML from 'yaml';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CONTRACT = path.join(ROOT, 'openapi.yaml');
const doc = YAML.parse(readFileSync(CONTRACT, 'utf8'));
const problems = [];

const deref = (node) => {
  let out = node;
  while (out?.$ref)
    out = out.$ref
      .split('/')
      .slice(1)
      .reduce((o, k) => o?.[k.replace(/~1/g, '/')], doc);
  return out;
};
const isJson = (type) => /^application\/(.+\+)?json\b/.test(type);

// swagger-typescript-api
const { files } = await generateApi({
  input: CONTRACT,
  output: false,
  silent: true,
  httpClientType: 'fetch',
});
const code = files.map((f) => f.fileContent).join('\n');
for (const item of Object.values(doc.paths)) {
  for (const method of ['get', 'put', 'post', 'patch', 'delete']) {
    const op = item[method];
    if (!op) continue;
    const start = code.search(new RegExp(`\\n\\s+${op.operationId}(: | = )\\(`));
    if (start < 0) {
      problems.push(`swagger-typescript-api: no method ${op.operationId}`);
      continue;
    }
    const call = code.slice(start, code.indexOf('...params,', start));
    const success = Object.entries(op.responses).find(([status]) => /^2/.test(status))?.[1];
    const successTypes = Object.keys(deref(success)?.content ?? {});
    if (successTypes.some(isJson) && !call.includes('format: "json"')) {
      problems.push(
        `swagger-typescript-api: ${op.operationId} would not parse its JSON response (no format: "json")`,
      );
    }
    const bodyTypes = Object.keys(deref(op.requestBody)?.content ?? {});
    if (bodyTypes.some(isJson) && !call.includes('type: ContentType.Json')) {
      problems.push(
        `swagger-typescript-api: ${op.operationId} would send its body without Content-Type: application/json`,
      );
    }
  }
}

// openapi-typescript: exactly the required properties are required, checked by the TypeScript compiler.
const work = mkdtempSync(path.join(tmpdir(), 'latchkey-generators-'));
try {
  writeFileSync(path.join(work, 'schema.ts'), astToString(await openapiTS(new URL(`file://${CONTRACT}`))));
  const checks = [
    "import type { components } from './schema';",
    'type Optional<T> = { [K in keyof T]-?: {} extends Pick<T, K> ? K : never }[keyof T];',
    'type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;',
  ];
  for (const [name, schema] of Object.entries(doc.components.schemas)) {
    if (!schema.properties) continue;
    const optional = Object.keys(schema.properties).filter((p) => !(schema.required ?? []).includes(p));
    const expected = optional.length ? optional.map((p) => JSON.stringify(p)).join(' | ') : 'never';
    checks.push(
      `export const ${name}: Same<Optional<components['schemas'][${JSON.stringify(name)}]>, ${expected}> = true;`,
    );
  }
  writeFileSync(path.join(work, 'check.ts'), `${checks.join('\n')}\n`);
  const program = ts.createProgram([path.join(work, 'check.ts')], {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    target: ts.ScriptTarget.ES2022,
  });
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const where = d.file ? d.file.text.slice(d.start, d.start + (d.length ?? 0)) : '';
    problems.push(
      `openapi-typescript: ${where}: the optional properties differ from the contract (${ts.flattenDiagnosticMessageText(d.messageText, ' ')})`,
    );
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

if (problems.length) {
  console.error(`openapi.yaml, as other generators read it:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  process.exit(1);
}
console.log('openapi.yaml reads right in swagger-typescript-api and openapi-typescript');
