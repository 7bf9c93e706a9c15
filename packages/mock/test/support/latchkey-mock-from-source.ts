// `latchkey-mock` run from the TypeScript sources (`node --import tsx`), for cli.test.ts: the
// package's bin runs the compiled dist/, which pack-install.test.ts checks once installed.
import { runCli } from '../../src/cli.js';

await runCli(process.argv.slice(2)).catch((err: Error) => {
  console.error(`latchkey-mock: ${err.message}`);
  process.exit(2);
});
