import { loggerFor } from '@sightline/service-kit';

export { errField, scrub, REDACT_PATHS, type Logger } from '@sightline/service-kit';

/** The collector's logger: pino named 'collector', with service-kit's one redaction list. */
export const createLogger = loggerFor('collector');
