#!/usr/bin/env node
// The `latchkey-mock` command. Runs the compiled package (dist/, written by `pnpm build`,
// which `pnpm pack` runs first); in a checkout of the repository, build before using it.
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(compiled)) {
  console.error('latchkey-mock: dist/ is missing; run `pnpm --filter @latchkey/mock build` first');
  process.exit(2);
}
const { runCli } = await import(compiled.href);
await runCli(process.argv.slice(2)).catch((err) => {
  console.error(`latchkey-mock: ${err.message}`);
  process.exit(2);
});
