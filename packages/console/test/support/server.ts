// A real Latchkey server process (`latchkey serve` from the sources, started by the server
// package's own test support), on a free port and a fresh data folder, serving the console
// built into packages/console/dist.
import { rmSync } from 'node:fs';
import { freePort } from '../../../server/test/support/free-port.js';
import { startServerProcess } from '../../../server/test/support/server-process.js';

export { freePort };

export interface ServerProcess {
  origin: string;
  logs(): string;
  /** Stops the server gracefully (SIGTERM) and removes its data folder. */
  stop(): Promise<void>;
}

export async function startServer(env: Record<string, string>): Promise<ServerProcess> {
  const s = await startServerProcess({ LATCHKEY_LOG_LEVEL: 'warn', ...env });
  return {
    origin: s.base,
    logs: s.logs,
    async stop() {
      if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGTERM');
      await s.exited;
      rmSync(s.dataDir, { recursive: true, force: true });
    },
  };
}
