import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

// Wherever a request or config lands in a log object, its credentials do not.
export const REDACT_PATHS = ['authorization', 'Authorization', 'token', 'tokenSha256', 'cookie'].flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);

export function createLogger(opts: { level?: string; destination?: DestinationStream } = {}): Logger {
  return pino(
    {
      name: 'api',
      level: opts.level ?? process.env.SIGHTLINE_LOG_LEVEL ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    opts.destination ?? pino.destination(2),
  );
}
