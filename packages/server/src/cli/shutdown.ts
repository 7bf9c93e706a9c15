import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Server as NetServer } from 'node:net';
import type { Logger } from 'pino';

/**
 * How long connections without a request under way are kept after the server stops
 * listening: a request already on its way when the signal came (sent, but not yet read) is
 * then answered instead of finding its connection reset.
 */
const IDLE_GRACE_MS = 500;

/**
 * Tracks the requests a server is answering, so that a shutdown can let them finish:
 * `drain` stops accepting connections, marks every response still to be written
 * `Connection: close`, closes the connections without a request under way after a short
 * grace, and resolves once every connection has ended, or after `timeoutMs`, when the
 * connections left are closed and counted in the log.
 */
export function trackRequests(server: Server) {
  const inFlight = new Set<ServerResponse>();
  let draining = false;
  server.on('request', (_req: IncomingMessage, res: ServerResponse) => {
    if (draining && !res.headersSent) res.setHeader('Connection', 'close');
    inFlight.add(res);
    res.once('close', () => inFlight.delete(res));
  });

  return {
    get inFlight(): number {
      return inFlight.size;
    },
    async drain(timeoutMs: number, logger: Logger): Promise<void> {
      draining = true;
      const started = Date.now();
      // net.Server's close: stop listening, but unlike http.Server's, leave idle connections
      // open for the grace below.
      const closed = new Promise<void>((resolve) => NetServer.prototype.close.call(server, () => resolve()));
      for (const res of inFlight) if (!res.headersSent) res.setHeader('Connection', 'close');
      logger.info(
        { inFlight: inFlight.size, timeoutS: timeoutMs / 1000 },
        'stopped accepting connections; waiting for requests under way',
      );
      const grace = setTimeout(() => server.closeIdleConnections(), Math.min(IDLE_GRACE_MS, timeoutMs));
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), Math.max(0, timeoutMs - (Date.now() - started)));
      });
      const late = await Promise.race([closed.then(() => false), timedOut]);
      clearTimeout(timer);
      clearTimeout(grace);
      if (late) {
        logger.warn(
          { cutOff: inFlight.size },
          'requests still under way at LATCHKEY_SHUTDOWN_TIMEOUT_S; closing their connections',
        );
        server.closeAllConnections();
        await closed;
      } else {
        logger.info('every request under way was answered');
      }
    },
  };
}
