import { runCli } from './cli/cli.js';
import { TerminalPrompt } from './cli/terminal-prompt.js';

const code = await runCli(process.argv.slice(2), {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  env: process.env,
  // Questions go to stderr, so that what a command prints on stdout stays its result.
  prompt: process.stdin.isTTY ? new TerminalPrompt(process.stdin, process.stderr) : undefined,
});
// `serve` keeps running on its own; every other command ends here.
if (code !== 0 || process.argv[2] !== 'serve') process.exit(code);
