// The contract check fails a suite whose mock answers outside the contract: a vitest run of
// test/fixtures/drift.fixture.ts (a whoami handler that lost `auth`) must fail and say why.
import { spawnSync } from 'node:child_process';
import { expect, it } from 'vitest';

it('fails the run of a file whose mock answered outside the contract, naming the operation and field', () => {
  const vitest = new URL('../node_modules/vitest/vitest.mjs', import.meta.url).pathname;
  const run = spawnSync(
    process.execPath,
    [vitest, 'run', '--config', 'test/fixtures/vitest.drift.config.ts'],
    {
      cwd: new URL('..', import.meta.url).pathname,
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
    },
  );
  const output = `${run.stdout}\n${run.stderr}`;
  expect(run.status, output).toBe(1);
  expect(output).toContain('responses outside the contract');
  expect(output).toMatch(/whoami 200: body .*body\.auth.*is required/);
  expect(output).toMatch(/body\.user\.is_superuser.*is required/);
});
