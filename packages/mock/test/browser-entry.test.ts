// `@latchkey/mock/browser` must run in a browser: nothing it reaches may import a Node
// module or use Node globals. This walks its import graph in the sources.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';

const src = new URL('../src/', import.meta.url).pathname;
/** Workspace packages whose sources are walked like the mock's own. */
const WORKSPACE: Record<string, string> = {
  '@latchkey/core': new URL('../../core/src/index.ts', import.meta.url).pathname,
};

function reachable(entry: string): { files: string[]; packages: Set<string> } {
  const files: string[] = [];
  const packages = new Set<string>();
  const queue = [path.join(src, entry)];
  while (queue.length) {
    const file = queue.shift() as string;
    if (files.includes(file)) continue;
    files.push(file);
    const code = readFileSync(file, 'utf8');
    for (const [, spec] of code.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+'([^']+)'/g)) {
      if (!spec) continue;
      if (spec.startsWith('.')) queue.push(path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts')));
      else if (WORKSPACE[spec]) queue.push(WORKSPACE[spec]);
      else packages.add(spec);
    }
  }
  return { files, packages };
}

it('reaches no Node module and no Node global from the browser entry point', () => {
  const { files, packages } = reachable('browser.ts');
  expect(files.length).toBeGreaterThan(15);
  expect(files.some((f) => f.endsWith('/core/src/keys/key-format.ts'))).toBe(true);
  expect([...packages].sort()).toEqual([
    'ajv-formats',
    'ajv/dist/2020.js',
    'ipaddr.js',
    'jose',
    'msw',
    'msw/browser',
    'yaml',
  ]);
  for (const file of files) {
    const code = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
    expect(code, path.relative(src, file)).not.toMatch(/\bBuffer\b|\bprocess\.|\brequire\(/);
  }
});

it('the Node entry point does reach msw/node, so the walk can tell them apart', () => {
  expect(reachable('node.ts').packages).toContain('msw/node');
});
