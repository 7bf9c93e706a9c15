import { pino } from 'pino';

/** The server's logger; credentials are redacted wherever they might appear. */
export function createLogger(level: string) {
  return pino({
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
  });
}
