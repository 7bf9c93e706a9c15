import { defineConfig } from '@hey-api/openapi-ts';

// Generates the typed operations and the ky-based transport from the contract into
// src/generated. `pnpm gen` runs this, then scripts/generate-security.ts.
export default defineConfig({
  input: '../../openapi.yaml',
  output: {
    path: 'src/generated',
    entryFile: false,
    // NodeNext resolution needs explicit extensions in relative imports.
    module: { extension: '.js' },
  },
  plugins: [
    '@hey-api/typescript',
    '@hey-api/sdk',
    // Operations throw (a LatchkeyError, see src/errors.ts) instead of returning `{ error }`.
    { name: '@hey-api/client-ky', throwOnError: true },
  ],
});
