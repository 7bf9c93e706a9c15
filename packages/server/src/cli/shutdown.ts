import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Logger } from 'pino';

/**
 * Tracks the requests a server is answering, so that a shutdown can let them finish:
 * `drain` stops accepting connections, closes idle keep-alive ones, marks every response
 * still to be written `Connection: close`, and resolves once every connection has ended, or
 * after `timeoutMs`, when the connections left are closed and counted in the log.
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
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const res of inFlight) if (!res.headersSent) res.setHeader('Connection', 'close');
      server.closeIdleConnections();
      logger.info(
        { inFlight: inFlight.size, timeoutS: timeoutMs / 1000 },
        'stopped accepting connections; waiting for requests under way',
      );
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), timeoutMs);
      });
      const late = await Promise.race([closed.then(() => false), timedOut]);
      clearTimeout(timer);
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
