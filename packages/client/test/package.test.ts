import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// What a consumer installs: ESM with type declarations that runs in Node and in browsers
// and lets a bundler drop what is not imported.

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// Inside the package (dist/ is ignored), so that the build resolves `ky` as an install would.
mkdirSync(path.join(root, 'dist'), { recursive: true });
const outDir = mkdtempSync(path.join(root, 'dist', 'test-build-'));

/** Bundles `source` (a module in the package root) for browsers; returns the minified code. */
async function bundle(source: string): Promise<string> {
  const result = await build({
    stdin: { contents: source, resolveDir: root, loader: 'ts', sourcefile: 'entry.ts' },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    minify: true,
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles.map((f) => f.text).join('\n');
}

function jsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return jsFiles(full);
    return entry.name.endsWith('.js') ? [full] : [];
  });
}

beforeAll(() => {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  // The guard imports @latchkey/core/credentials: its build reads core's declarations (a
  // project reference), which `tsc -b` writes to core's dist/ when they are out of date.
  execFileSync(process.execPath, [tsc, '-b', path.join(root, '..', 'core', 'tsconfig.build.json')], {
    stdio: 'pipe',
  });
  // tsconfig.build.json has no Node types: using a Node-only global fails this build.
  execFileSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json'), '--outDir', outDir], {
    stdio: 'pipe',
  });
}, 180_000);

afterAll(() => {
  rmSync(outDir, { recursive: true, force: true });
});

// Building and bundling compete for two cores with the other test files: allow for it.
describe('the built package', { timeout: 90_000 }, () => {
  it('is ESM with type declarations for every entry point', async () => {
    for (const entry of ['index', 'operations', 'guard']) {
      expect(existsSync(path.join(outDir, `${entry}.d.ts`)), `${entry}.d.ts`).toBe(true);
    }
    // Plain Node, not vitest's module loader.
    const script = `
      const lk = await import(${JSON.stringify(pathToFileURL(path.join(outDir, 'index.js')).href)});
      const ops = await import(${JSON.stringify(pathToFileURL(path.join(outDir, 'operations.js')).href)});
      const client = lk.createLatchkeyClient({ baseUrl: 'http://127.0.0.1:8800' });
      console.log(JSON.stringify([typeof client.whoami, typeof lk.RateLimitError, typeof ops.rotateKey]));`;
    const printed = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
    });
    expect(JSON.parse(printed)).toEqual(['function', 'function', 'function']);
  });

  it('imports nothing from Node', () => {
    const offenders = jsFiles(outDir).filter((file) =>
      /from\s+['"](node:|fs['"]|path['"]|http['"]|crypto['"])|require\(/.test(readFileSync(file, 'utf8')),
    );
    expect(offenders).toEqual([]);
  });

  it('bundles for browsers', async () => {
    const code = await bundle("export { createLatchkeyClient } from './src/index.ts';");
    expect(code).toContain('/api/v1/auth/whoami');
    expect(code).toContain('throwHttpErrors');
  });

  it('bundles the guard with only the small part of @latchkey/core it needs', async () => {
    const result = await build({
      stdin: {
        contents: "export { answerFor, createGuard } from './src/guard.ts';",
        resolveDir: root,
        loader: 'ts',
      },
      bundle: true,
      format: 'esm',
      platform: 'browser',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const code = result.outputFiles.map((f) => f.text).join('\n');
    expect(code).toContain('/api/v1/keys/verify');
    expect(code).toContain('MULTIPLE_CREDENTIALS');
    // Where keys are found, addresses, permissions and problem codes; not core's contract,
    // its validator (ajv), its services or its storage.
    const fromCore = Object.keys(result.metafile.inputs).filter((file) => file.includes('core/src/'));
    expect(fromCore).toContain('../core/src/auth/credential-finder.ts');
    expect(
      fromCore.filter((file) => /generated|contract|services|store|sessions|users\//.test(file)),
    ).toEqual([]);
    expect(
      Object.keys(result.metafile.inputs).filter((file) =>
        /node_modules\/\.pnpm\/(ajv|jose|yaml)@/.test(file),
      ),
    ).toEqual([]);
  });

  it('lets a bundler drop what is not imported', async () => {
    const errorsOnly = await bundle("export { LatchkeyError } from './src/index.ts';");
    expect(errorsOnly).not.toContain('/api/v1/');
    expect(errorsOnly).not.toContain('throwHttpErrors');

    const oneOperation = await bundle("export { whoami } from './src/operations.ts';");
    expect(oneOperation).toContain('/api/v1/auth/whoami');
    expect(oneOperation).not.toContain('/rotate');
  });
});
