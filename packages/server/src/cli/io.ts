/** Where a command writes, what environment it reads, and whether a person is at a terminal. */
export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
  env: Record<string, string | undefined>;
  interactive: boolean;
}
