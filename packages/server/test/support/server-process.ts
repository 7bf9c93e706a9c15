import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './free-port.js';
import { SERVER_DIR } from './terminal.js';

export interface ServerProcess {
  child: ChildProcess;
  base: string;
  port: number;
  dataDir: string;
  /** What the process wrote so far, stdout and stderr. */
  logs(): string;
  /** Only what it wrote to stdout. */
  stdout(): string;
  exited: Promise<number | null>;
}

const running: ServerProcess[] = [];

/** Kills what is left of the processes started by startServerProcess and removes their data folders. */
export function stopServerProcesses(): void {
  for (const s of running.splice(0)) {
    if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
    rmSync(s.dataDir, { recursive: true, force: true });
  }
}

/**
 * Runs `latchkey serve` from the sources as a process of its own, on a free port and a fresh
 * data folder, and resolves once GET /health answers 200.
 */
export async function startServerProcess(env: Record<string, string> = {}): Promise<ServerProcess> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'latchkey-process-'));
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'serve', '--port', String(port)], {
    cwd: SERVER_DIR,
    env: { ...process.env, LATCHKEY_DATA_DIR: dataDir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let all = '';
  let out = '';
  child.stdout?.on('data', (c: Buffer) => {
    all += c.toString('utf8');
    out += c.toString('utf8');
  });
  child.stderr?.on('data', (c: Buffer) => {
    all += c.toString('utf8');
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const started: ServerProcess = {
    child,
    base: `http://127.0.0.1:${port}`,
    port,
    dataDir,
    logs: () => all,
    stdout: () => out,
    exited,
  };
  running.push(started);
  const until = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the server exited early:\n${all}`);
    try {
      if ((await fetch(`${started.base}/health`)).ok) return started;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) throw new Error(`the server did not start:\n${all}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
