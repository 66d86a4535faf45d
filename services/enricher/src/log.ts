import { createLogger as kitLogger, type Logger } from '@sightline/service-kit';
import type { DestinationStream } from 'pino';

export { errField, scrub, REDACT_PATHS, type Logger } from '@sightline/service-kit';

/** The enricher's logger: pino named 'enricher', credential paths redacted (see @sightline/service-kit). */
export function createLogger(opts: { level?: string; destination?: DestinationStream } = {}): Logger {
  return kitLogger({ name: 'enricher', ...opts });
}
