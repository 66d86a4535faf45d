import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

// The token travels in an Authorization header and is read from a file: neither may reach a log line.
export const REDACT_PATHS = ['authorization', 'Authorization', 'token', 'bearer'].flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);

export function createLogger(opts: { level?: string; destination?: DestinationStream } = {}): Logger {
  return pino(
    {
      name: 'kubetags',
      level: opts.level ?? process.env.SIGHTLINE_LOG_LEVEL ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    opts.destination ?? pino.destination(2),
  );
}
