#!/usr/bin/env node
// Runs the compiled server (dist/main.js, made by `pnpm build` and by `pnpm start`) when it
// is at least as new as every source file; otherwise the TypeScript sources through tsx, so
// that an unbuilt checkout works and a pulled release never runs an older bundle.
import { existsSync, readdirSync, statSync } from 'node:fs';

const bundle = new URL('../dist/main.js', import.meta.url);
const sources = [new URL('../src/', import.meta.url), new URL('../../core/src/', import.meta.url)];

function newestSource() {
  let newest = 0;
  for (const dir of sources) {
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir, { recursive: true })) {
      newest = Math.max(newest, statSync(new URL(name, dir)).mtimeMs);
    }
  }
  return newest;
}

if (existsSync(bundle) && statSync(bundle).mtimeMs >= newestSource()) {
  await import(bundle.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/main.ts');
}
