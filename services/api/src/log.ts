import { loggerFor } from '@sightline/service-kit/log';

export { errField, scrub, REDACT_PATHS, type Logger } from '@sightline/service-kit/log';

/** The API's logger: pino named 'api', with service-kit's one redaction list (tokens, their hashes, cookies, passwords, keys). */
export const createLogger = loggerFor('api');
