import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// `pnpm latchkey …` from the repository root, as the guides write it: the command's own
// message and exit code come through (2 for a usage or configuration error), without
// pnpm's report of a failed recursive run.

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function pnpmLatchkey(args: string[], env: Record<string, string>) {
  return new Promise<{ code: number; out: string; err: string }>((resolve, reject) => {
    const child = spawn('npx', ['--yes', 'pnpm@12.21.0', 'latchkey', ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString('utf8');
    });
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString('utf8');
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code: code ?? 1, out, err }));
  });
}

describe('pnpm latchkey', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'latchkey-pnpm-'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('a configuration error exits 2 with its message and without pnpm noise', async () => {
    const r = await pnpmLatchkey(['migrate'], { LATCHKEY_DATA_DIR: dataDir, LATCHKEY_PORT: 'abc' });
    expect(r.code).toBe(2);
    expect(r.err).toContain('LATCHKEY_PORT: must be a whole number, got "abc"');
    expect(r.err).not.toContain('ERR_PNPM');
    expect(r.out).toBe('');
  });

  it('an unknown command is a usage error: exit 2', async () => {
    const r = await pnpmLatchkey(['frobnicate'], { LATCHKEY_DATA_DIR: dataDir });
    expect(r.code).toBe(2);
    expect(r.err).toContain("error: unknown command 'frobnicate'");
    expect(r.err).not.toContain('ERR_PNPM');
  });

  it('a failing command exits 1 with its message only; stdout carries only results', async () => {
    const r = await pnpmLatchkey(['token', 'revoke', 'no-such-key'], { LATCHKEY_DATA_DIR: dataDir });
    expect(r.code).toBe(1);
    expect(r.err).toContain('error: No key with id no-such-key.');
    expect(r.err).not.toContain('ERR_PNPM');
    expect(r.out).toBe('');
    const listed = await pnpmLatchkey(['users', 'list'], { LATCHKEY_DATA_DIR: dataDir });
    expect(listed.code).toBe(0);
    expect(listed.out.split('\n')[0]).toBe(
      'ID\tUSERNAME\tSUPERUSER\tACTIVE\tCAN_CREATE_TOKENS\tCAN_VERIFY_KEYS\tPASSWORD\tCREATED',
    );
  });
});
