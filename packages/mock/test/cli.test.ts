// `latchkey-mock`: the mock HTTP server for consumers in other languages, as a command, run
// from the sources (the installed, compiled command is checked by pack-install.test.ts).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';

const cli = new URL('./support/latchkey-mock-from-source.ts', import.meta.url).pathname;
const dir = mkdtempSync(path.join(tmpdir(), 'latchkey-mock-cli-'));
let child: ChildProcess | undefined;

afterAll(() => {
  if (child?.pid) child.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
});

it('serves the seeded mock on the given port with a small rate limit, printing the seeded keys', async () => {
  const seedFile = path.join(dir, 'seed.json');
  writeFileSync(
    seedFile,
    JSON.stringify({
      users: [{ username: 'ops', password: 'ops-password-from-seed', is_superuser: true }],
      keys: [{ owner: 'ops', name: 'ci', key: 'ci-key-for-other-languages-0123456789' }],
    }),
  );
  child = spawn(
    process.execPath,
    ['--import', 'tsx', cli, '--port', '0', '--seed', seedFile, '--rate-limit', '2'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => {
    stdout += d;
  });
  const url = await new Promise<string>((resolve, reject) => {
    child?.stderr?.on('data', (d) => {
      stderr += d;
      const found = /listening on (http:\/\/\S+)/.exec(stderr);
      if (found?.[1]) resolve(found[1]);
    });
    child?.once('exit', (code) => reject(new Error(`exited ${code}: ${stderr}`)));
  });
  await expect.poll(() => stdout).toContain('"ops"');
  const seeded = JSON.parse(stdout) as {
    keys: Record<string, { key: string }>;
    users: Record<string, { id: string }>;
  };
  expect(seeded.keys.ci?.key).toBe('ci-key-for-other-languages-0123456789');

  const whoami = () =>
    fetch(`${url}/api/v1/auth/whoami`, {
      headers: { Authorization: 'Token ci-key-for-other-languages-0123456789' },
    });
  const first = await whoami();
  expect(first.status).toBe(200);
  expect(first.headers.get('x-auth-method')).toBe('TokenAuth');
  expect(first.headers.get('x-auth-user-id')).toBe(seeded.users.ops?.id);
  expect(first.headers.get('x-ratelimit-limit')).toBe('2');
  expect((await whoami()).status).toBe(200);
  const limited = await whoami();
  expect(limited.status).toBe(429);
  expect(limited.headers.get('content-type')).toBe('application/problem+json');
  expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);

  const login = await fetch(`${url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: 'ops', password: 'ops-password-from-seed' }),
  });
  expect(login.status).toBe(200);
  expect(login.headers.getSetCookie().map((c) => c.split('=')[0])).toEqual([
    'latchkey_session',
    'latchkey_csrf',
  ]);
  const nothing = await fetch(`${url}/nothing/here`);
  expect([nothing.status, ((await nothing.json()) as { code: string }).code]).toEqual([404, 'NOT_FOUND']);
});
