import { loggerFor } from '@sightline/service-kit/log';

export { errField, scrub, REDACT_PATHS, type Logger } from '@sightline/service-kit/log';

/** The agent's logger: pino named 'kubetags', with service-kit's one redaction list (its bearer token above all). */
export const createLogger = loggerFor('kubetags');
