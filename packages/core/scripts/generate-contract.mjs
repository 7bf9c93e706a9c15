// Writes src/generated/contract.gen.ts from the repository's openapi.yaml, so that the
// server and the mock route and validate by the same contract, in Node, in browsers and in
// published builds. Never edit the output; src/contract/contract.test.ts fails when it
// differs from openapi.yaml.
import { readFileSync, writeFileSync } from 'node:fs';
import YAML from 'yaml';

const source = new URL('../../../openapi.yaml', import.meta.url);
const target = new URL('../src/generated/contract.gen.ts', import.meta.url);
const document = YAML.parse(readFileSync(source, 'utf8'));
writeFileSync(
  target,
  `// Generated from openapi.yaml by scripts/generate-contract.mjs (pnpm gen). Do not edit.\n` +
    `import type { ContractDocument } from '../contract/types.js';\n\n` +
    `export const CONTRACT: ContractDocument = ${JSON.stringify(document, null, 2)} as unknown as ContractDocument;\n`,
);
console.log(`wrote ${target.pathname}`);
