// Compiles the server into dist/: one ES module bundle of the sources and of the workspace's
// @latchkey/core with its dependencies, with every npm dependency of the server left as an
// import. `pnpm start`, `latchkey`
// and the benchmark run this bundle; the TypeScript loader stays out of the running server.
import { readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = new URL('../', import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'));
const external = Object.keys(pkg.dependencies).filter((name) => !name.startsWith('@latchkey/'));
// Each entry lands in dist/ by its base name, one folder below the package root like
// src/paths.ts, which the bundle relies on. The usage writer runs in a worker thread of its
// own (src/keys/usage-writer.ts finds it beside main.js).
const entries = ['src/main.ts', 'src/keys/usage-writer.worker.ts'];

rmSync(new URL('dist/', root), { recursive: true, force: true });
await build({
  absWorkingDir: fileURLToPath(root),
  entryPoints: entries,
  entryNames: '[name]',
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: external.flatMap((name) => [name, `${name}/*`]),
  // The core's own dependencies are bundled; some are CommonJS and call require().
  banner: {
    js: "import { createRequire as __latchkeyRequire } from 'node:module'; const require = __latchkeyRequire(import.meta.url);",
  },
  sourcemap: true,
  logLevel: 'warning',
});
