import { createLogger as kitLogger, type Logger } from '@sightline/service-kit';
import type { DestinationStream } from 'pino';

export { errField, scrub, REDACT_PATHS, type Logger } from '@sightline/service-kit';

/** The collector's logger: pino named 'collector', credential paths redacted (see @sightline/service-kit). */
export function createLogger(opts: { level?: string; destination?: DestinationStream } = {}): Logger {
  return kitLogger({ name: 'collector', ...opts });
}
