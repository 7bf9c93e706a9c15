import type { TerminalPrompt } from './terminal-prompt.js';

/** Where a command writes, what environment it reads, and how it asks a person at a terminal. */
export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
  env: Record<string, string | undefined>;
  /** Asks at a terminal; undefined when stdin is not one (then nothing is ever asked). */
  prompt?: TerminalPrompt | undefined;
}
