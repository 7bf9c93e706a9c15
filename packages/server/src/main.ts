import { runCli } from './cli/cli.js';

const code = await runCli(process.argv.slice(2), {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  env: process.env,
  interactive: Boolean(process.stdin.isTTY),
});
// `serve` keeps running on its own; every other command ends here.
if (code !== 0 || process.argv[2] !== 'serve') process.exit(code);
