// Installs the workspace's dependencies before `pnpm start` or `pnpm test`, so that a
// fresh clone needs nothing but Node. With package names (`pnpm start` gives @latchkey/server
// and @latchkey/console, which it builds and serves), only what those packages need is
// installed: their dependencies and devDependencies and the workspace packages they use at
// run time (`--filter-prod`), not the benchmark or the mock and their tools. better-sqlite3
// compiles from source where no prebuilt binary can be fetched; node-gyp is pointed at the headers that ship with this Node, when present,
// instead of downloading them.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

const env = { ...process.env };
const nodePrefix = path.resolve(path.dirname(process.execPath), '..');
if (!env.npm_config_nodedir && existsSync(path.join(nodePrefix, 'include', 'node', 'common.gypi'))) {
  env.npm_config_nodedir = nodePrefix;
}
const pnpm = process.env.npm_execpath;
// pnpm may be a JavaScript entry point or a native executable.
const [cmd, args] = !pnpm ? ['pnpm', []] : /\.[cm]?js$/.test(pnpm) ? [process.execPath, [pnpm]] : [pnpm, []];
const ci = process.env.CI === 'true' || process.env.CI === '1';
const filter = process.argv.slice(2).flatMap((name) => ['--filter-prod', `${name}...`]);
const result = spawnSync(
  cmd,
  [...args, 'install', ...filter, ci ? '--frozen-lockfile' : '--prefer-offline'],
  {
    env,
    stdio: ['ignore', 'inherit', 'inherit'],
  },
);
process.exit(result.status ?? 1);
