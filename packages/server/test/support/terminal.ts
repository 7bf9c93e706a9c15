import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The server package's folder. */
export const SERVER_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

export interface TerminalSession {
  /** Everything the command wrote to the terminal so far, with CR LF turned into LF. */
  output(): string;
  /** Resolves once the output (after `from` characters) holds `text`; rejects when the command ends first. */
  waitFor(text: string, from?: number): Promise<number>;
  /** Types keys at the terminal (`\r` is Enter, `\u0003` is Ctrl-C). */
  type(keys: string): void;
  /** The command's exit code. */
  exited: Promise<number>;
  kill(): void;
}

/**
 * Runs `latchkey <args>` from the sources in a real pseudo-terminal (util-linux `script`),
 * as a user at a terminal would: its stdin and stdout are a TTY.
 */
export function latchkeyInTerminal(args: string[], env: Record<string, string>): TerminalSession {
  // `exec`: the shell that `script` starts gives its place to node. Otherwise a shell that
  // stays (dash, /bin/sh where SHELL is unset) gets Ctrl-C's SIGINT too and dies of it
  // after node has exited, and `script` reports 130 instead of node's code.
  const command = `exec ${[process.execPath, '--import', 'tsx', 'src/main.ts', ...args].map(quote).join(' ')}`;
  const child: ChildProcess = spawn('script', ['-qfec', command, '/dev/null'], {
    cwd: SERVER_DIR,
    env: { ...process.env, ...env, TERM: 'dumb' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let text = '';
  const waiters = new Set<() => void>();
  const onOutput = (chunk: Buffer) => {
    text += chunk.toString('utf8').replaceAll('\r\n', '\n');
    for (const w of waiters) w();
  };
  child.stdout?.on('data', onOutput);
  child.stderr?.on('data', onOutput);
  let ended = false;
  const exited = new Promise<number>((resolve) => {
    child.once('exit', (code, signal) => {
      ended = true;
      for (const w of waiters) w();
      resolve(code ?? (signal ? 128 : 1));
    });
  });
  return {
    output: () => text,
    waitFor(wanted, from = 0) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const at = text.indexOf(wanted, from);
          if (at >= 0) {
            waiters.delete(check);
            resolve(at + wanted.length);
          } else if (ended) {
            waiters.delete(check);
            reject(
              new Error(`the command ended before writing ${JSON.stringify(wanted)}; it wrote:\n${text}`),
            );
          }
        };
        waiters.add(check);
        check();
      });
    },
    type(keys) {
      child.stdin?.write(keys);
    },
    exited,
    kill: () => child.kill('SIGKILL'),
  };
}
