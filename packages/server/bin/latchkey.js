#!/usr/bin/env node
// Runs the compiled server (dist/main.js, made by `pnpm build` and by `pnpm start`) when it
// exists; otherwise the TypeScript sources through tsx, so that a checkout works unbuilt.
import { existsSync } from 'node:fs';

const bundle = new URL('../dist/main.js', import.meta.url);
if (existsSync(bundle)) {
  await import(bundle.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/main.ts');
}
