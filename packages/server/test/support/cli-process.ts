import { spawn } from 'node:child_process';
import { SERVER_DIR } from './terminal.js';

export interface CliRun {
  code: number;
  out: string;
  err: string;
}

/** Runs `latchkey <args>` from the sources as a process of its own, without a terminal. */
export function runLatchkey(args: string[], env: Record<string, string>): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
      cwd: SERVER_DIR,
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
    child.once('close', (code) => resolve({ code: code ?? 1, out: out.trimEnd(), err: err.trimEnd() }));
  });
}
