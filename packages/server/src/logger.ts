import { type DestinationStream, type Logger, pino } from 'pino';
import { PinoPretty } from 'pino-pretty';

/** How log lines are written: one JSON object a line, or coloured text for a person. */
export type LogFormat = 'json' | 'pretty';

/** The format when none is configured: pretty at a terminal, JSON otherwise (files, collectors). */
export function defaultLogFormat(stdout: { isTTY?: boolean } = process.stdout): LogFormat {
  return stdout.isTTY ? 'pretty' : 'json';
}

/** How long a JSON line may wait in the buffer of a running server before it is written. */
const FLUSH_EVERY_MS = 250;

/**
 * Where a running server's JSON lines go: standard output through a buffer, written by
 * libuv's thread pool without blocking the event loop, at least every 2 KB or every 250 ms.
 * A request line then costs a string appended to a buffer instead of a `write` system call.
 * `flushLogs` writes what is left (the graceful shutdown calls it before exiting); on any
 * other exit pino writes the buffer synchronously from the `exit` event.
 */
export function bufferedStdout(): DestinationStream {
  // Each write holds whole lines and at most 4 KB (PIPE_BUF), so that the lines of several
  // workers sharing one standard output never interleave on a pipe.
  const stream = pino.destination({ dest: 1, sync: false, minLength: 2048, maxWrite: 4096 });
  setInterval(() => {
    try {
      stream.flush();
    } catch {
      // destroyed (standard output closed): nothing to write to
    }
  }, FLUSH_EVERY_MS).unref();
  return stream;
}

/** Writes the lines the logger's destination still buffers; resolves at once for an unbuffered one. */
export function flushLogs(logger: Logger): Promise<void> {
  return new Promise((resolve) => {
    try {
      logger.flush((err) => {
        if (err) process.stderr.write(`could not write the last log lines: ${err.message}\n`);
        resolve();
      });
    } catch {
      resolve();
    }
  });
}

/**
 * The server's logger; credentials are redacted wherever they might appear. JSON lines go to
 * `destination`, else synchronously to standard output (what the one-shot commands want), or
 * through a buffer with `buffered` (what `latchkey serve` wants: see bufferedStdout).
 */
export function createLogger(
  level: string,
  format: LogFormat = 'json',
  destination?: DestinationStream,
  options: { buffered?: boolean } = {},
) {
  const stream =
    format === 'pretty'
      ? PinoPretty({
          colorize: destination === undefined && Boolean(process.stdout.isTTY),
          translateTime: 'SYS:HH:MM:ss.l',
          ignore: 'pid,hostname,service',
          // Written before the process exits, like the JSON lines.
          sync: true,
          ...(destination ? { destination } : {}),
        })
      : destination;
  return pino(
    {
      level,
      base: { service: 'latchkey' },
      redact: {
        paths: [
          'password',
          '*.password',
          'key',
          '*.key',
          'token',
          '*.token',
          'api_key',
          '*.api_key',
          'headers.authorization',
          'headers.cookie',
          'headers["x-api-key"]',
        ],
        censor: '[redacted]',
      },
    },
    stream ?? (options.buffered ? bufferedStdout() : pino.destination({ dest: 1, sync: true })),
  );
}
