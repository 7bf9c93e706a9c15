import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import semver from 'semver';
import { expect, it } from 'vitest';
import YAML from 'yaml';

// Every package the lockfile installs supports the oldest Node the project supports
// (`engines` of the root package.json), so that installing prints no "Unsupported engine"
// warning and nothing needs a newer Node than the README promises. The overrides in
// pnpm-workspace.yaml hold back the dependencies whose newest releases need Node 22.

const ROOT = new URL('../../../', import.meta.url);
const read = (file: string) => readFileSync(fileURLToPath(new URL(file, ROOT)), 'utf8');

it('every locked package supports the oldest Node of the engines range', () => {
  const range = (JSON.parse(read('package.json')) as { engines: { node: string } }).engines.node;
  const oldest = semver.minVersion(range)?.version;
  expect(oldest).toBe('20.19.0');
  const lock = YAML.parse(read('pnpm-lock.yaml')) as {
    packages: Record<string, { engines?: { node?: string } }>;
  };
  const unsupported = Object.entries(lock.packages)
    .filter(([, p]) => p.engines?.node && !semver.satisfies(oldest as string, p.engines.node))
    .map(([name, p]) => `${name} wants node ${p.engines?.node}`);
  expect(unsupported).toEqual([]);
});
