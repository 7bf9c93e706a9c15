// Fails when src/generated differs from what `pnpm gen` produces from openapi.yaml. Run
// after `pnpm gen` (the `check:generated` script does both): any change or new file that
// git sees under src/generated means the committed code is stale.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const generated = path.resolve(here, '../src/generated');
const git = (...args) => spawnSync('git', args, { cwd: generated, encoding: 'utf8' });

if (git('rev-parse', '--is-inside-work-tree').stdout.trim() !== 'true') {
  process.stdout.write(
    'check:generated: not a git work tree, so there is nothing to compare against; skipped.\n',
  );
  process.exit(0);
}

const status = git('status', '--porcelain', '--untracked-files=all', '--', '.');
if (status.status !== 0) {
  process.stderr.write(status.stderr);
  process.exit(1);
}
if (status.stdout.trim() !== '') {
  process.stderr.write(
    `packages/client/src/generated is not what openapi.yaml generates:\n${status.stdout}` +
      `${git('diff', '--stat', '--', '.').stdout}` +
      'Run `pnpm gen` and commit packages/client/src/generated with the contract change.\n',
  );
  process.exit(1);
}
process.stdout.write('check:generated: packages/client/src/generated matches openapi.yaml.\n');
