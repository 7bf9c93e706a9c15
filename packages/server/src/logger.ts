import { type DestinationStream, pino } from 'pino';
import { PinoPretty } from 'pino-pretty';

/** How log lines are written: one JSON object a line, or coloured text for a person. */
export type LogFormat = 'json' | 'pretty';

/** The format when none is configured: pretty at a terminal, JSON otherwise (files, collectors). */
export function defaultLogFormat(stdout: { isTTY?: boolean } = process.stdout): LogFormat {
  return stdout.isTTY ? 'pretty' : 'json';
}

/** The server's logger; credentials are redacted wherever they might appear. */
export function createLogger(level: string, format: LogFormat = 'json', destination?: DestinationStream) {
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
    stream ?? pino.destination({ dest: 1, sync: true }),
  );
}
