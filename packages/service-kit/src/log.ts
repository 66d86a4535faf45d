import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

/**
 * Field names that may hold a credential, wherever they sit in a logged object: the one list every
 * service's logger uses (collector, enricher, api, kubetags). Config objects, requests and SDK
 * errors are logged through these paths, so a key, password or token never reaches a log line even
 * when a caller logs a whole source configuration or request by mistake. Cloud keys; passwords
 * (ClickHouse, Kafka SASL); bearer tokens (agent and reader tokens, the `Authorization` header)
 * and their hashes (the API's token index); cookies.
 */
export const REDACT_PATHS = [
  'secretAccessKey', 'sessionToken', 'accessKeyId', 'externalId', 'accountKey', 'sasToken', 'clientSecret', 'keyFile',
  'credentials', 'password', 'authorization', 'Authorization', 'token', 'tokenSha256', 'bearer', 'cookie', 'Cookie',
].flatMap((k) => [k, `*.${k}`, `*.*.${k}`, `*.*.*.${k}`]);

/** A pino logger named after its service, with every credential path redacted. */
export function createLogger(opts: { name: string; level?: string; destination?: DestinationStream }): Logger {
  return pino(
    {
      name: opts.name,
      level: opts.level ?? process.env.SIGHTLINE_LOG_LEVEL ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      // `err` fields are meant to be errField objects; pino's default serializer would take those for
      // errors and log `"type":"Object","stack":""`. An Error passed as it is goes through errField too,
      // so its name and scrubbed message are kept and nothing else of it (an SDK error holds requests).
      serializers: { err: (e: unknown) => (e instanceof Error ? errField(e) : e) },
    },
    opts.destination ?? pino.destination(2),
  );
}

/**
 * A service's `createLogger`: the shared logger under the service's name, so each service's log.ts
 * is one line and the redaction list stays here.
 */
export function loggerFor(name: string): (opts?: { level?: string; destination?: DestinationStream }) => Logger {
  return (opts = {}) => createLogger({ name, ...opts });
}

/**
 * An error as a log field: name, message and the classification of a CloudError, never the SDK's
 * own error object (which can hold the request, its signed headers and credentials).
 */
export function errField(err: unknown): { type: string; message: string; kind?: string } {
  if (err instanceof Error) {
    const kind = (err as { kind?: unknown }).kind;
    return { type: err.name, message: scrub(err.message), ...(typeof kind === 'string' ? { kind } : {}) };
  }
  const m = (err as { message?: unknown } | null)?.message;
  return { type: typeof err, message: scrub(typeof m === 'string' ? m : String(err)) };
}

/** Strips what looks like a credential out of a message (query-string signatures, key=value secrets). */
export function scrub(message: string): string {
  return message
    .replace(/(X-Amz-(?:Signature|Credential|Security-Token)=)[^&\s"]+/gi, '$1[redacted]')
    .replace(/((?:sig|sv|se|sp|AccountKey|SharedAccessSignature|secret[A-Za-z]*|token)=)[^&;\s"]+/gi, '$1[redacted]')
    .replace(/\b(AKIA|ASIA)[A-Z0-9]{12,}\b/g, '[redacted-key-id]');
}

/**
 * Node prints process warnings (a library's `process.emitWarning`, such as the AWS SDK's notice
 * about the Node version, deprecations, MaxListenersExceededWarning) as multi-line text on stderr,
 * which a log shipper that reads JSON lines cannot parse. A service calls this once at start: Node's
 * own printer is removed and each warning becomes one structured line of `log`.
 */
export function logProcessWarnings(log: Logger): void {
  process.removeAllListeners('warning');
  process.on('warning', (w: Error & { code?: unknown }) => {
    log.warn({ warning: { name: w.name, message: scrub(w.message), ...(typeof w.code === 'string' ? { code: w.code } : {}) } }, `process warning: ${w.name}`);
  });
}
