import type { ErrorLogParams, Logger, LogParams, WarnLogParams } from '@clickhouse/client';

/**
 * What the store logs through. A pino Logger fits as it is; the store does not depend on pino.
 */
export interface StoreLogger {
  debug(obj: Record<string, unknown>, msg: string): void;
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
  error(obj: Record<string, unknown>, msg: string): void;
}

// pino's numeric levels, so that the fallback's lines read like every other process line
const LEVELS = { debug: 20, info: 30, warn: 40, error: 50 } as const;

/**
 * Without a logger the store still writes one JSON object a line (pino's shape) on stderr: the
 * client's own default logger writes multi-line `console.warn` text, which log shippers that
 * expect JSON lines cannot read.
 */
export const stderrJsonLogger: StoreLogger = Object.fromEntries(
  (Object.keys(LEVELS) as (keyof typeof LEVELS)[]).map((k) => [k, (obj: Record<string, unknown>, msg: string) => {
    process.stderr.write(`${JSON.stringify({ level: LEVELS[k], time: Date.now(), name: 'clickhouse-client', ...obj, msg })}\n`);
  }]),
) as unknown as StoreLogger;

/**
 * An error as fields: its type, message and code; no stack (the client's stacks are its own
 * internals) and nothing else of the object (a request error could carry its options).
 */
function errFields(err: Error | undefined): Record<string, unknown> {
  if (!err) return {};
  const code = (err as { code?: unknown }).code;
  return { err: { type: err.name, message: err.message, ...(typeof code === 'string' || typeof code === 'number' ? { code } : {}) } };
}

const aborted = (err: Error | undefined): boolean => err !== undefined && (err.name === 'AbortError' || /\baborted\b/i.test(err.message));

const fields = (p: LogParams & { err?: Error | undefined }): Record<string, unknown> => ({ module: p.module, ...(p.args ?? {}), ...errFields(p.err) });

/**
 * The `log.LoggerClass` of `createClient`: the client instantiates it without arguments, hence a
 * class made per logger. Its messages (a config warning at every start, socket warnings under load)
 * become structured lines of the process's own logger.
 */
export function clickhouseLoggerClass(log: StoreLogger): new () => Logger {
  return class implements Logger {
    trace(p: LogParams): void { log.debug(fields(p), p.message); }
    debug(p: LogParams): void { log.debug(fields(p), p.message); }
    info(p: LogParams): void { log.info(fields(p), p.message); }
    warn(p: WarnLogParams): void { log.warn(fields(p), p.message); }
    error(p: ErrorLogParams): void {
      // a request the store aborted itself (the query API's deadline or a client gone) is a
      // cancellation the caller already handles, not an error of the client
      if (aborted(p.err)) log.debug(fields(p), p.message);
      else log.error(fields(p), p.message);
    }
  };
}
