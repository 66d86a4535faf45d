import { loggerFor } from '@sightline/service-kit';

export { errField, scrub, REDACT_PATHS, type Logger } from '@sightline/service-kit';

/** The enricher's logger: pino named 'enricher', with service-kit's one redaction list. */
export const createLogger = loggerFor('enricher');
