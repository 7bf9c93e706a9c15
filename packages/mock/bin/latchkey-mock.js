#!/usr/bin/env node
// Runs the TypeScript sources through tsx, so the command needs no build step.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../src/cli.ts');
await runCli(process.argv.slice(2)).catch((err) => {
  console.error(`latchkey-mock: ${err.message}`);
  process.exit(2);
});
